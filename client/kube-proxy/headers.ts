import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';

/**
 * The headers the proxy sends upstream. What the client sent is never trusted for identity:
 *  - hop-by-hop headers (and any the client's Connection names) are this hop's only;
 *  - in auth mode every credential and identity header the client sent is dropped
 *    (Authorization, Impersonate-*, the front-proxy X-Remote-* family) and the proxy's own
 *    credential and the caller's identity are set instead;
 *  - X-Forwarded-For is replaced by the caller's mesh address (a client may send any).
 * An upgrade keeps `Connection: Upgrade` and its `Upgrade` header, which is what it is.
 */
export type Identity = { mode: 'auth'; authorization?: string; user: string; groups: string[] } | { mode: 'noauth' };

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
): OutgoingHttpHeaders {
  const named = connectionTokens(req.headers);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headersDistinct)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    if (identity.mode === 'auth' && IDENTITY_HEADER.test(name)) continue;
    out[name] = value.length === 1 ? value[0] : value;
  }
  out.host = upstreamHost;
  out['x-forwarded-for'] = callerAddress;
  if (req.headers.upgrade !== undefined) {
    out.connection = 'Upgrade';
    out.upgrade = req.headers.upgrade;
  }
  if (identity.mode === 'auth') {
    if (identity.authorization) out.authorization = identity.authorization;
    out['impersonate-user'] = identity.user;
    if (identity.groups.length > 0) out['impersonate-group'] = identity.groups;
  }
  return out;
}

/** What the client asked to act as (kubectl --as, --as-group): only ever a request to narrow. */
export function requestedImpersonation(req: IncomingMessage): { user?: string[]; groups?: string[] } {
  const user = req.headersDistinct['impersonate-user'];
  const groups = req.headersDistinct['impersonate-group'];
  return { ...(user && { user }), ...(groups && { groups }) };
}

/** Response headers that belong to the upstream hop only. */
export function downstreamHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = connectionTokens(headers);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || named.has(name)) continue;
    if (name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding') continue;
    out[name] = value;
  }
  return out;
}

function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection ?? '';
  return new Set(
    value
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t && t !== 'upgrade' && t !== 'close' && t !== 'keep-alive'),
  );
}
