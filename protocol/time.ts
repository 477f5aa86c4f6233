/**
 * Times on the wire and in the store are unix milliseconds (or, in JWTs, seconds), and every one
 * of them comes from outside at some point: a token's claims, an administrator's input, a row.
 * JavaScript dates end at +275760, ISO 8601 as `z.string().datetime()` reads it at the year 9999,
 * and a time beyond either makes formatting throw. So every time is bounded where it arrives and
 * before it is written, and read back through `isoTime`, which cannot throw.
 */

/** 1970-01-01T00:00:00.000Z: no time Trellis deals in lies before the epoch. */
export const EARLIEST_TIME_MS = 0;
/** 9999-12-31T23:59:59.999Z: the last instant with a four-digit ISO 8601 year. */
export const LATEST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A whole number of milliseconds between the bounds. */
export function isTimeMs(ms: unknown): ms is number {
  return Number.isSafeInteger(ms) && (ms as number) >= EARLIEST_TIME_MS && (ms as number) <= LATEST_TIME_MS;
}

/** A number of seconds (a JWT NumericDate, fractions allowed) between the bounds. */
export function isTimeSeconds(s: unknown): s is number {
  return typeof s === 'number' && Number.isFinite(s) && s * 1000 >= EARLIEST_TIME_MS && s * 1000 <= LATEST_TIME_MS;
}

/**
 * ISO 8601 for a time. Total: a value out of range (a row written before times were bounded)
 * reads as the nearest bound (NaN as the epoch), so that no
 * stored value can make a read fail.
 */
export function isoTime(ms: number): string {
  const bounded = Number.isNaN(ms)
    ? EARLIEST_TIME_MS
    : Math.min(Math.max(Math.trunc(ms), EARLIEST_TIME_MS), LATEST_TIME_MS);
  return new Date(bounded).toISOString();
}
