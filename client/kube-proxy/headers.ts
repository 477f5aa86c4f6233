import type { IncomingMessage } from 'node:http';

/**
 * The headers the proxy sends upstream. What the client sent is never trusted for identity:
 *  - hop-by-hop headers (and any the client's Connection names) are this hop's only;
 *  - in auth mode every credential and identity header the client sent is dropped
 *    (Authorization, Impersonate-*, the front-proxy X-Remote-* family) and the proxy's own
 *    credential and the caller's identity are set instead;
 *  - X-Forwarded-For is replaced by the caller's mesh address (a client may send any).
 * An upgrade keeps `Connection: Upgrade` and its `Upgrade` header, which is what it is.
 *
 * Headers travel as flat name/value lists (the shape of `rawHeaders`, which `request` and
 * `writeHead` take as they are): every call passes through here twice, and building objects of
 * arrays per header was a measurable part of the proxy's CPU per call.
 */
export type Identity = { mode: 'auth'; authorization?: string; user: string; groups: string[] } | { mode: 'noauth' };

/** Flat `[name, value, name, value, ...]`, as `IncomingMessage.rawHeaders`. */
export type RawHeaders = string[];

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'x-forwarded-for',
]);

const IDENTITY_HEADER = /^(authorization|impersonate-.*|x-remote-.*)$/;

export function upstreamHeaders(
  req: IncomingMessage,
  identity: Identity,
  upstreamHost: string,
  callerAddress: string,
): RawHeaders {
  const named = connectionTokens(req.headers.connection);
  const raw = req.rawHeaders;
  const out: RawHeaders = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || (named !== undefined && named.has(name))) continue;
    if (identity.mode === 'auth' && IDENTITY_HEADER.test(name)) continue;
    out.push(name, raw[i + 1]!);
  }
  out.push('host', upstreamHost, 'x-forwarded-for', callerAddress);
  if (req.headers.upgrade !== undefined) out.push('connection', 'Upgrade', 'upgrade', req.headers.upgrade);
  if (identity.mode === 'auth') {
    if (identity.authorization) out.push('authorization', identity.authorization);
    out.push('impersonate-user', identity.user);
    for (const group of identity.groups) out.push('impersonate-group', group);
  }
  // Chunked bodies are re-framed by the upstream request, which must be told to frame them.
  if (req.headers['transfer-encoding'] !== undefined) out.push('transfer-encoding', 'chunked');
  return out;
}

/** What the client asked to act as (kubectl --as, --as-group): only ever a request to narrow. */
export function requestedImpersonation(req: IncomingMessage): { user?: string[]; groups?: string[] } {
  const user = req.headersDistinct['impersonate-user'];
  const groups = req.headersDistinct['impersonate-group'];
  return { ...(user && { user }), ...(groups && { groups }) };
}

/** Response headers that belong to the upstream hop only. */
export function downstreamHeaders(answer: IncomingMessage): RawHeaders {
  const named = connectionTokens(answer.headers.connection);
  const raw = answer.rawHeaders;
  const out: RawHeaders = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding') continue;
    if (named !== undefined && named.has(name)) continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/** Header names a Connection header lists (beyond the framing tokens), or undefined for none. */
function connectionTokens(value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const tokens = value
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t && t !== 'upgrade' && t !== 'close' && t !== 'keep-alive');
  return tokens.length === 0 ? undefined : new Set(tokens);
}
