import WebSocket from 'ws';
import { MapState } from '../../client/control/map-state.ts';
import { ServerMessage } from '../../protocol/map.ts';
import type { RouteHealthReport } from '../../protocol/route-health.ts';
import type { TestAgent } from './server.ts';

/**
 * A joined agent's map stream over the real wire, held by hand: it can send any message (a
 * route-health report) and can fall silent without closing, as a machine whose uplink was cut
 * or whose host died does (its TCP connection stays open on the server's side).
 */
export class RawMapStream {
  readonly state = new MapState();
  closed = false;
  private silent = false;
  private waiters: Array<() => void> = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      if (this.silent) return;
      const msg = ServerMessage.parse(JSON.parse(data.toString()));
      if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong', t: msg.t }));
      else if (msg.type === 'full' || msg.type === 'delta') this.state.apply(msg);
      this.wake();
    });
    ws.on('close', () => {
      this.closed = true;
      this.wake();
    });
    ws.on('error', () => {});
  }

  static async open(agent: TestAgent): Promise<RawMapStream> {
    const path = '/api/v1/machine/map';
    const url = new URL(path, agent.url);
    url.protocol = 'ws:';
    const ws = new WebSocket(url, { headers: { authorization: agent.control.proof('GET', path) } });
    const stream = new RawMapStream(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await stream.until((s) => s.state.version >= 0, 'first map');
    return stream;
  }

  send(message: RouteHealthReport | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Stops answering and reading, keeping the connection open: a dead host, seen from the server. */
  fallSilent(): void {
    this.silent = true;
    this.ws.pause();
  }

  close(): void {
    this.ws.terminate();
  }

  async until(condition: (s: this) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if (condition(this)) return;
      } catch {
        // not yet
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
