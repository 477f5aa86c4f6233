import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';

/**
 * The proxy's own refusals, as the Kubernetes API server answers: a `Status` object, which
 * kubectl prints as `Error from server (Forbidden): <message>`. The code is in `details.causes`
 * so that a tool can switch on it.
 */
const REASONS: Record<number, string> = {
  400: 'BadRequest',
  403: 'Forbidden',
  502: 'ServiceUnavailable',
  503: 'ServiceUnavailable',
};

export function statusBody(status: number, code: string, message: string): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `trellis kube-proxy: ${message}`,
    reason: REASONS[status] ?? 'InternalError',
    details: { causes: [{ reason: code, message }] },
    code: status,
  });
}

/**
 * The same message as an HTTP warning (`299 - "..."`), which kubectl prints for any answer: its
 * discovery requests, the first a refused caller makes, show an error without the Status body.
 */
export function warningHeader(message: string): string {
  const text = `trellis kube-proxy: ${message}`.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, (c) => `\\${c}`);
  return `299 - "${text}"`;
}

export function sendStatus(res: ServerResponse, status: number, code: string, message: string): void {
  const body = statusBody(status, code, message);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    warning: warningHeader(message),
  });
  res.end(body);
}

/** The same answer on a socket that asked for an upgrade (no ServerResponse there). */
export function sendStatusOnSocket(socket: Duplex, status: number, code: string, message: string): void {
  const body = statusBody(status, code, message);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nwarning: ${warningHeader(message)}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}
