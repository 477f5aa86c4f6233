import { CodedError } from '../protocol/coded-error.ts';
import type { AnswerCode } from './error-codes.ts';

/**
 * Every error the server answers with: a stable `code`, a human `message` that says what is
 * wrong, and `where` when the problem has a place (a body field, a header). One place maps
 * these to HTTP (http/error-handler.ts); anything else becomes a 500 with no details.
 */
export type ErrorKind =
  | 'invalid' // 400: the input is malformed
  | 'unauthenticated' // 401: no or bad credential
  | 'forbidden' // 403: credential fine, not allowed
  | 'not_found' // 404
  | 'conflict' // 409: state changed underneath, or already exists
  | 'too_large' // 413
  | 'rate_limited' // 429
  | 'unavailable'; // 503: a retry may help

interface ErrorDetail {
  code: string;
  message: string;
  where?: string;
}

interface TrellisErrorOptions {
  /** Where the problem is: a JSON path such as `body.auth.key`, or `file:line:col`. */
  where?: string;
  /** Every problem, when there are several (each error in a rejected policy). */
  details?: ErrorDetail[];
  /** The library or lower-level error this one translates; logged, never answered. */
  cause?: unknown;
}

export class TrellisError extends CodedError<AnswerCode> {
  override readonly name = 'TrellisError';
  readonly where?: string;
  readonly details?: ErrorDetail[];

  constructor(
    readonly kind: ErrorKind,
    code: AnswerCode,
    message: string,
    options: TrellisErrorOptions = {},
  ) {
    super(code, message, { cause: options.cause });
    this.where = options.where;
    this.details = options.details;
  }

  /** True when the same request may succeed later. */
  override get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'unavailable';
  }
}

export const invalid = (code: AnswerCode, message: string, where?: string) =>
  new TrellisError('invalid', code, message, { where });
export const unauthenticated = (code: AnswerCode, message: string) =>
  new TrellisError('unauthenticated', code, message);
export const forbidden = (code: AnswerCode, message: string) => new TrellisError('forbidden', code, message);
export const notFound = (code: AnswerCode, message: string) => new TrellisError('not_found', code, message);
export const conflict = (code: AnswerCode, message: string, where?: string) =>
  new TrellisError('conflict', code, message, { where });
