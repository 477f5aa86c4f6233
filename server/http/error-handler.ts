import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import type { ErrorBody } from '../../protocol/errors.ts';
import { TrellisError, type ErrorKind } from '../errors.ts';
import { StoreConflict, StoreUnavailable } from '../store/store.ts';

/** The one mapping of error kinds to HTTP statuses. */
const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};

/** The HTTP status a known error is answered with. */
export const httpStatus = (err: TrellisError): number => STATUS[err.kind];

/** The answer to anything that is not a known error: nothing internal leaks. */
export const INTERNAL_ERROR_BODY = {
  code: 'server.internal',
  message: 'internal error; the request id identifies it in the server log',
} as const satisfies ErrorBody;

/**
 * The one place errors become HTTP answers. Known errors answer with their code and message;
 * anything else is logged with its stack and answered with a bare 500, so nothing internal
 * leaks to the caller.
 */
export function errorHandler(logger: Logger) {
  return (err: Error, c: Context) => {
    const requestId = c.get('requestId') as string | undefined;
    const known = knownError(err);
    if (known) {
      const status = httpStatus(known);
      logger.info(
        {
          requestId,
          code: known.code,
          status,
          path: c.req.path,
          ...(known.cause !== undefined && { err: known.cause }),
        },
        known.message,
      );
      const body: ErrorBody = { code: known.code, message: known.message, requestId };
      if (known.where) body.where = known.where;
      if (known.details) body.details = known.details;
      if (known.kind === 'rate_limited') c.header('Retry-After', '60');
      return c.json(body, status as 400);
    }
    logger.error({ requestId, err, path: c.req.path }, 'unhandled error');
    return c.json({ ...INTERNAL_ERROR_BODY, requestId }, 500);
  };
}

/** The error as one the server answers with, translating the store's and hono's; undefined for a bug. */
export function knownError(err: unknown): TrellisError | undefined {
  if (err instanceof TrellisError) return err;
  if (err instanceof StoreConflict) return new TrellisError('conflict', err.code, err.message, { cause: err });
  if (err instanceof StoreUnavailable) return new TrellisError('unavailable', err.code, err.message, { cause: err });
  if (err instanceof HTTPException) {
    if (err.status === 413)
      return new TrellisError('too_large', 'request.too_large', 'the request body is too large', { cause: err });
    return new TrellisError('invalid', 'request.invalid', err.message || 'bad request', { cause: err });
  }
  return undefined;
}
