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

export interface ErrorDetail {
  code: string;
  message: string;
  where?: string;
}

export class TrellisError extends Error {
  override readonly name = 'TrellisError';
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly where?: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
  }

  get status(): number {
    return STATUS[this.kind];
  }

  /** True when the same request may succeed later. */
  get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'unavailable';
  }
}

export const invalid = (code: string, message: string, where?: string) =>
  new TrellisError('invalid', code, message, where);
export const unauthenticated = (code: string, message: string) => new TrellisError('unauthenticated', code, message);
export const forbidden = (code: string, message: string) => new TrellisError('forbidden', code, message);
export const notFound = (code: string, message: string) => new TrellisError('not_found', code, message);
export const conflict = (code: string, message: string, where?: string) =>
  new TrellisError('conflict', code, message, where);
