import type { Socket } from 'node:net';
import { setProxiedClientAddress } from '../client-address.ts';
import type { ProxyProtocolCode } from './header.ts';
import { readProxyHeader } from './read-header.ts';
import type { TrustedSources } from './trusted-sources.ts';

export interface ProxyProtocolGate {
  trusted: TrustedSources;
  /** A trusted peer's header must be complete this many milliseconds after it connects. */
  headerTimeoutMs: number;
  /** A trusted peer's connection closed without reaching the server: why, for the log. */
  onRefused(refusal: { code: ProxyProtocolCode; message: string; peer: string }): void;
}

/**
 * Lets a new connection through to `pass` (the HTTP server's own connection handling): from a
 * trusted load balancer only after a valid PROXY header, whose client address it records and
 * whose bytes it takes off the stream; from anyone else at once and untouched, so a header
 * they send is no header but a malformed HTTP request. A trusted peer's bad, slow or missing
 * header closes the connection.
 */
export function acceptConnection(socket: Socket, gate: ProxyProtocolGate, pass: (socket: Socket) => void): void {
  if (!gate.trusted.covers(socket.remoteAddress)) return pass(socket);
  const peer = socket.remoteAddress ?? 'unknown';
  let buffered: Buffer = Buffer.alloc(0);
  const done = () => {
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('error', onError);
    socket.removeListener('end', onEnd);
    socket.removeListener('close', done);
  };
  const refuse = (code: ProxyProtocolCode, message: string) => {
    done();
    socket.destroy();
    gate.onRefused({ code, message, peer });
  };
  const onData = (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const read = readProxyHeader(buffered);
    if (read.kind === 'incomplete') return;
    if (read.kind === 'refused') return refuse(read.code, read.message);
    done();
    socket.pause();
    if (read.header.source) setProxiedClientAddress(socket, read.header.source.address);
    const rest = buffered.subarray(read.header.length);
    if (rest.length > 0) socket.unshift(rest);
    pass(socket);
    // The HTTP server's data listener is in place: what followed the header reaches it first.
    socket.resume();
  };
  // Before the header is read, nothing else listens: an error must not go unhandled.
  const onError = () => {
    done();
    socket.destroy();
  };
  const onEnd = () =>
    refuse(
      'proxy_protocol.truncated',
      `the connection ended after ${buffered.length} bytes, before its PROXY header did`,
    );
  const timer = setTimeout(
    () =>
      refuse(
        'proxy_protocol.timeout',
        `no complete PROXY header within ${gate.headerTimeoutMs} ms (${buffered.length} bytes came)`,
      ),
    gate.headerTimeoutMs,
  );
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('end', onEnd);
  // Destroyed here (the port closing): nothing to refuse, and no timer left to hold the process.
  socket.on('close', done);
}
