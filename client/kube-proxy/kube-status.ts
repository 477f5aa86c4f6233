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

export function sendStatus(res: ServerResponse, status: number, code: string, message: string): void {
  const body = statusBody(status, code, message);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The same answer on a socket that asked for an upgrade (no ServerResponse there). */
export function sendStatusOnSocket(socket: Duplex, status: number, code: string, message: string): void {
  const body = statusBody(status, code, message);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
