import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * `exec` over WebSocket, in the channel protocols kubectl 1.32 speaks by default
 * (`v5.channel.k8s.io`, falling back to v4): every binary message starts with its channel
 * (0 stdin, 1 stdout, 2 stderr, 3 the final Status, 4 terminal resize; in v5, 255 closes a
 * channel). There are no containers here, so the stand-in runs a few built-in commands as a
 * container would: `echo ARGS`, `cat` (stdin to stdout until stdin closes), `hostname` (the
 * pod's name), `true`, `false`; any other is "not found" with exit code 127.
 */
const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const wss = new WebSocketServer({
  noServer: true,
  handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
});

export function acceptsExec(req: IncomingMessage): boolean {
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  return PROTOCOLS.some((p) => offered.includes(p));
}

export function runExec(req: IncomingMessage, socket: Duplex, head: Buffer, pod: string, command: string[]): void {
  wss.handleUpgrade(req, socket, head, (ws) => session(ws, pod, command));
}

function session(ws: WebSocket, pod: string, command: string[]): void {
  const send = (channel: number, data: string | Buffer) =>
    ws.send(Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(data) ? data : Buffer.from(data)]));
  const finish = (exitCode: number) => {
    send(
      3,
      JSON.stringify(
        exitCode === 0
          ? { metadata: {}, status: 'Success' }
          : {
              metadata: {},
              status: 'Failure',
              message: `command terminated with non-zero exit code: exit status ${exitCode}`,
              reason: 'NonZeroExitCode',
              details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
            },
      ),
    );
    ws.close(1000);
  };
  const [program, ...args] = command;
  switch (program) {
    case 'echo':
      send(1, `${args.join(' ')}\n`);
      return finish(0);
    case 'hostname':
      send(1, `${pod}\n`);
      return finish(0);
    case 'true':
      return finish(0);
    case 'false':
      return finish(1);
    case 'cat':
      ws.on('message', (data: Buffer) => {
        if (data[0] === 0) send(1, data.subarray(1));
        else if (data[0] === 255 && data[1] === 0) finish(0);
      });
      ws.on('close', () => undefined);
      return;
    default:
      send(2, `stand-in: ${program ?? ''}: command not found\n`);
      return finish(127);
  }
}
