import { isTimeMs } from '../../protocol/time.ts';

/**
 * The last guard before a time is written: every edge bounds the times it takes in
 * (protocol/time.ts), so one out of range here is a bug, and it must never reach a row that
 * every later read would have to survive.
 */
export function checkStorableTimes<T extends object>(record: T, fields: readonly string[]): void {
  for (const field of fields) {
    const value = (record as Record<string, unknown>)[field];
    if (value === undefined || value === null) continue;
    if (!isTimeMs(value)) throw new TypeError(`refusing to store ${field} = ${String(value)}: not a time in range`);
  }
}

/** The longest lease a presence row takes (`replica.routerLeaseMs` is bounded below it). */
const MAX_LEASE_MS = 600_000;

/** A lease is a whole number of milliseconds, 1 to MAX_LEASE_MS; anything else is a bug. */
export function checkLeaseMs(leaseMs: number): void {
  if (!Number.isInteger(leaseMs) || leaseMs < 1 || leaseMs > MAX_LEASE_MS) {
    throw new TypeError(`refusing a presence lease of ${String(leaseMs)} ms: not 1 to ${MAX_LEASE_MS}`);
  }
}
