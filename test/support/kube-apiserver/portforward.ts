import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { SpdySession, type SpdyStream } from './spdy.ts';

/**
 * `port-forward`, as the kubelet serves it (protocol `portforward.k8s.io`), in both ways kubectl
 * 1.32 reaches it: SPDY/3.1 over a WebSocket (subprotocol `SPDY/3.1+portforward.k8s.io`, the
 * default: each binary message carries the next bytes of the SPDY session) and, when that is
 * refused or turned off (KUBECTL_PORT_FORWARD_WEBSOCKETS=false), SPDY/3.1 on the upgraded
 * connection itself. Each forwarded connection is two SPDY streams with the same `requestid`:
 * `streamtype: data` carries the bytes, `streamtype: error` a message if the port cannot be
 * reached. There are no pod network namespaces here: a pod's port is whatever TCP address the
 * stand-in's `podPorts` maps `NAMESPACE/POD:PORT` to; any other port refuses, as an empty port
 * in a pod does.
 */
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
const TUNNEL_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;
// `ws` refuses the subprotocol (a `/` is not allowed in an HTTP token; Go's server takes it): it
// is checked here instead, taken off the request before `ws` reads it and put in the answer.
const wss = new WebSocketServer({ noServer: true });
wss.on('headers', (headers) => headers.push(`Sec-WebSocket-Protocol: ${TUNNEL_PROTOCOL}`));

export type PodPorts = Record<string, string>;

/** Which of the two ways the request asks for, or undefined for neither. */
export function portForwardTransport(req: IncomingMessage): 'websocket' | 'spdy' | undefined {
  const upgrade = req.headers.upgrade?.toLowerCase();
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  if (upgrade === 'websocket' && offered.includes(TUNNEL_PROTOCOL)) return 'websocket';
  const versions = (req.headers['x-stream-protocol-version'] ?? '')
    .toString()
    .split(',')
    .map((s) => s.trim());
  if (upgrade === 'spdy/3.1' && versions.includes(PORT_FORWARD_PROTOCOL)) return 'spdy';
  return undefined;
}

export function runPortForward(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  pod: string,
  target: (port: string) => string | undefined,
): void {
  const serve = (io: Duplex) => new SpdySession(io, forwarding(pod, target));
  if (portForwardTransport(req) === 'websocket') {
    delete req.headers['sec-websocket-protocol'];
    return wss.handleUpgrade(req, socket, head, (ws) => serve(createWebSocketStream(ws)));
  }
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
      `X-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n\r\n`,
  );
  if (head.length > 0) socket.unshift(head);
  serve(socket);
}

/** Pairs each request's error and data streams, then joins the data stream to the pod's port. */
function forwarding(pod: string, target: (port: string) => string | undefined): (s: SpdyStream) => void {
  const pending = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  return (stream) => {
    const id = stream.headers.get('requestid') ?? '';
    const type = stream.headers.get('streamtype');
    const pair = pending.get(id) ?? {};
    if (type === 'error') pair.error = stream;
    else if (type === 'data') pair.data = stream;
    else return void stream.destroy();
    if (type === 'error') stream.resume(); // the client closes its side at once; nothing to read
    if (!pair.error || !pair.data) return void pending.set(id, pair);
    pending.delete(id);
    const { error, data } = pair;
    const port = data.headers.get('port') ?? '';
    const address = target(port);
    const fail = (why: string) => {
      error.end(`error forwarding port ${port} to pod ${pod}: ${why}`);
      data.end();
    };
    if (!address) return fail(`dial tcp4 127.0.0.1:${port}: connect: connection refused`);
    const [host, p] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
    const conn = connect({ host, port: p });
    let connected = false;
    conn.once('connect', () => {
      connected = true;
      error.end();
      data.pipe(conn);
      conn.pipe(data);
    });
    conn.on('error', (err) => (connected ? data.destroy() : fail(err.message)));
    data.on('close', () => conn.destroy());
  };
}
