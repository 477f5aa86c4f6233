import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { runProgram } from './program.ts';

/**
 * `exec` and `attach` over WebSocket, in the channel protocols kubectl 1.32 speaks by default
 * (`v5.channel.k8s.io`, falling back to v4): every binary message starts with its channel
 * (0 stdin, 1 stdout, 2 stderr, 3 the final Status, 4 terminal resize; in v5, 255 closes a
 * channel). What runs is program.ts's; exec-spdy.ts carries the same over SPDY.
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
  runProgram(pod, command, {
    write: send,
    onInput: (listener) => {
      ws.on('message', (data: Buffer) => {
        if (data[0] === 0) listener(data.subarray(1));
        else if (data[0] === 255 && data[1] === 0) listener(null);
      });
    },
    exit: (status) => {
      send(3, JSON.stringify(status));
      ws.close(1000);
    },
  });
}
