import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import type { ErrorBody } from '../../protocol/errors.ts';
import { TrellisError } from '../errors.ts';
import { StoreConflict } from '../store/store.ts';

/**
 * The one place errors become HTTP answers. Known errors answer with their code and message;
 * anything else is logged with its stack and answered with a bare 500, so nothing internal
 * leaks to the caller.
 */
export function errorHandler(logger: Logger) {
  return (err: Error, c: Context) => {
    const requestId = c.get('requestId') as string | undefined;
    const known = toTrellisError(err);
    if (known) {
      logger.info({ requestId, code: known.code, status: known.status, path: c.req.path }, known.message);
      const body: ErrorBody = { code: known.code, message: known.message, requestId };
      if (known.where) body.where = known.where;
      if (known.details) body.details = known.details;
      if (known.kind === 'rate_limited') c.header('Retry-After', '60');
      return c.json(body, known.status as 400);
    }
    logger.error({ requestId, err, path: c.req.path }, 'unhandled error');
    return c.json(
      { code: 'internal', message: 'internal error; the request id identifies it in the server log', requestId },
      500,
    );
  };
}

function toTrellisError(err: Error): TrellisError | undefined {
  if (err instanceof TrellisError) return err;
  if (err instanceof StoreConflict)
    return new TrellisError('conflict', err.what.replace(/\./g, '_') + '.conflict', err.message);
  if (err instanceof HTTPException) {
    if (err.status === 413) return new TrellisError('too_large', 'request.too_large', 'the request body is too large');
    return new TrellisError('invalid', 'request.invalid', err.message || 'bad request');
  }
  return undefined;
}
