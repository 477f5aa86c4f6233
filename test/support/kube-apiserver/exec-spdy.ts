import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { runProgram } from './program.ts';
import { SpdySession, type SpdyStream } from './spdy.ts';

/**
 * `exec` and `attach` over SPDY/3.1 on the upgraded connection, as kubectl falls back to (or is
 * told to: KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false), in the remote-command protocols
 * v4.channel.k8s.io down to channel.k8s.io, which differ in how the end is told: from v4 a
 * JSON Status on the error stream, before that the error's text (nothing for success). The
 * client opens one stream per channel (`streamtype` error, stdin, stdout, stderr, resize); the
 * program starts once every stream the query asks for is there, as the kubelet does.
 */
const VERSIONS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

/** The newest remote-command version the client offers, or undefined for an upgrade that is not one. */
export function spdyExecVersion(req: IncomingMessage): string | undefined {
  if (req.headers.upgrade?.toLowerCase() !== 'spdy/3.1') return undefined;
  const offered = String(req.headers['x-stream-protocol-version'] ?? '')
    .split(',')
    .map((s) => s.trim());
  return VERSIONS.find((v) => offered.includes(v));
}

export function runSpdyExec(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  pod: string,
  command: string[],
  query: URLSearchParams,
): void {
  const version = spdyExecVersion(req)!;
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
      `X-Stream-Protocol-Version: ${version}\r\n\r\n`,
  );
  if (head.length > 0) socket.unshift(head);
  const tty = query.get('tty') === 'true';
  const expected = new Set(['error']);
  if (query.get('stdin') === 'true') expected.add('stdin');
  if (query.get('stdout') === 'true') expected.add('stdout');
  if (query.get('stderr') === 'true' && !tty) expected.add('stderr');
  if (tty && version !== 'channel.k8s.io' && version !== 'v2.channel.k8s.io') expected.add('resize');
  const streams = new Map<string, SpdyStream>();
  new SpdySession(socket, (stream) => {
    const type = stream.headers.get('streamtype') ?? '';
    if (!expected.has(type) || streams.has(type)) return void stream.destroy();
    streams.set(type, stream);
    if (type !== 'stdin') stream.resume(); // the client sends nothing on the others
    if (streams.size === expected.size) start();
  });

  function start(): void {
    const stdin = streams.get('stdin');
    runProgram(pod, command, {
      write: (channel, data) => streams.get(channel === 1 ? 'stdout' : 'stderr')?.write(data),
      onInput: (listener) => {
        if (!stdin) return listener(null);
        stdin.on('data', (chunk: Buffer) => listener(chunk));
        stdin.on('end', () => listener(null));
      },
      exit: (status) => {
        for (const type of ['stdout', 'stderr', 'stdin', 'resize']) streams.get(type)?.end();
        const error = streams.get('error')!;
        if (version === 'v4.channel.k8s.io') error.end(JSON.stringify(status));
        else if (status.status === 'Success') error.end();
        else error.end(status.message);
        // The client closes the connection once it has read everything.
      },
    });
  }
}
