import { DrizzleQueryError } from 'drizzle-orm/errors';
import { StoreConflict, StoreUnavailable } from '../store.ts';

/** What node-postgres gives for an error PostgreSQL answered with (the fields used here). */
interface PgError extends Error {
  code?: string;
  constraint?: string;
}

/**
 * The driver's own error under drizzle's wrapper. Drizzle's carries the query and its
 * parameters (a CA's private key, a session's hash): it must never reach a log.
 */
export function driverError(err: unknown): unknown {
  return err instanceof DrizzleQueryError && err.cause ? err.cause : err;
}

const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOENT', // a Unix socket that is not there (yet)
]);

/**
 * True when the error says the database cannot be reached or went away mid-query, as opposed
 * to one it answered (a broken rule, a bug): SQLSTATE class 08 (connection exception),
 * 57P01-57P03 (shut down, crashed, starting), 53300 (too many connections), the network's
 * errnos, and node-postgres's own words for a dead or unobtainable connection.
 */
export function isConnectionError(err: unknown): boolean {
  const e = driverError(err) as PgError | undefined;
  if (!e || typeof e !== 'object') return false;
  const code = e.code ?? '';
  if (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true;
  if (CONNECTION_ERRNOS.has(code)) return true;
  if (e instanceof AggregateError) return e.errors.some(isConnectionError);
  return /Connection terminated|timeout exceeded when trying to connect|not queryable|Client was closed/i.test(
    e.message ?? '',
  );
}

/** The error a store method throws for what went wrong underneath. */
export function storeError(err: unknown): unknown {
  if (err instanceof StoreConflict || err instanceof StoreUnavailable) return err;
  if (isConnectionError(err)) return new StoreUnavailable(undefined, { cause: driverError(err) });
  return driverError(err);
}

/** The name of the unique constraint a write broke (SQLSTATE 23505), if that is what happened. */
export function brokenUnique(err: unknown): string | undefined {
  const e = driverError(err) as PgError | undefined;
  return e?.code === '23505' ? e.constraint : undefined;
}

/**
 * Every method of a repository, with errors translated: a lost database becomes
 * StoreUnavailable (503), never a crash or a driver's stack in an answer.
 */
export function guarded<T extends object>(repository: T): T {
  const out = {} as Record<string, unknown>;
  for (const [key, value] of Object.entries(repository)) {
    out[key] =
      typeof value === 'function'
        ? async (...args: unknown[]) => {
            try {
              return await (value as (...a: unknown[]) => Promise<unknown>).apply(out, args);
            } catch (err) {
              throw storeError(err);
            }
          }
        : value;
  }
  return out as T;
}
