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
