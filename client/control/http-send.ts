import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pinnedLookup, type ServerTarget } from './server-list.ts';

export interface HttpAnswer {
  status: number;
  statusText: string;
  text: string;
}

/** No byte for this long on a connection to a replica means it is gone: try the next one. */
const IDLE_TIMEOUT_MS = 30_000;

/**
 * One HTTP request to one target. node:http rather than fetch, because a target may pin the
 * address its host name resolved to (one name with several addresses) while Host and TLS SNI
 * keep the name. Rejects on anything that is not an answer (refused, reset, timed out).
 */
export function send(
  target: ServerTarget,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array | undefined,
): Promise<HttpAnswer> {
  const url = new URL(path, target.url);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: { ...headers, ...(body && { 'content-length': String(body.length) }) },
        timeout: IDLE_TIMEOUT_MS,
        ...(target.address && { lookup: pinnedLookup(target.address) }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${IDLE_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}
