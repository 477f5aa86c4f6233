import type { ServerResponse } from 'node:http';

/** Kubernetes `Status` answers, spelled as the real API server spells them (kubectl prints `message`). */
const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'AlreadyExists',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason = REASONS[status] ?? 'InternalError',
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function statusObject(status: number, message: string, reason: string, details?: Record<string, unknown>) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: status < 400 ? 'Success' : 'Failure',
    message,
    reason,
    ...(details && { details }),
    code: status,
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, statusObject(err.status, err.message, err.reason, err.details));
}
