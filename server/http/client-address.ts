import type { Context } from 'hono';

/** Sockets whose client a trusted load balancer named: the address it named. */
const proxied = new WeakMap<object, string>();

interface PeerSocket {
  readonly remoteAddress?: string;
}

/**
 * The one answer to "who is the client of this connection": the address a trusted load
 * balancer named in its PROXY header (proxy-protocol/accept-connection.ts), else the peer's
 * own. Rate limits, audit events and logs all ask here, so none of them sees the load balancer
 * as everyone.
 */
export function clientAddress(socket: PeerSocket): string {
  return proxied.get(socket) ?? socket.remoteAddress ?? 'unknown';
}

/** The client address of the connection a hono request came on. */
export function requestClientAddress(c: Context): string {
  // As @hono/node-server/conninfo finds it: its bindings, under `server` when wrapped.
  type Bindings = { incoming?: { socket?: PeerSocket }; server?: Bindings } | undefined;
  const env = c.env as Bindings;
  const socket = (env?.server ?? env)?.incoming?.socket;
  return socket ? clientAddress(socket) : 'unknown';
}

/** Set once, from a trusted PROXY header, before the connection's first request is read. */
export function setProxiedClientAddress(socket: object, address: string): void {
  proxied.set(socket, address);
}
