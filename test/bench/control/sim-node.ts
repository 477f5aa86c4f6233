import WebSocket from 'ws';
import { ControlClient } from '../../../client/control/control-client.ts';
import { ControlError } from '../../../client/control/control-error.ts';
import { generateMachineKey } from '../../../client/control/machine-key.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';

/** What a simulated node saw, for the benchmark to aggregate. */
export interface SimEvents {
  onFull(node: SimNode, bytes: number): void;
  onPeerUpserted(node: SimNode, wireguardKey: string, at: number): void;
  onFilter(node: SimNode, text: string, at: number): void;
}

const MAP_PATH = '/api/v1/machine/map';

/** Registrations retried after a dropped connection, reported by the benchmark. */
export let retries = 0;

/**
 * One simulated node: its own machine and WireGuard keys, a real signed registration and a
 * real map stream. It does not keep the map (10,000 of them would measure the simulator); it
 * only reports what arrived and answers heartbeats.
 */
export class SimNode {
  readonly wireguardKey = generateKeyPair().publicKey;
  readonly control: ControlClient;
  ws?: WebSocket;

  constructor(
    readonly index: number,
    readonly team: number,
    url: string,
  ) {
    this.control = new ControlClient(url, generateMachineKey().privateKey);
  }

  /** Registers, retrying as an agent would when the connection drops (registration is idempotent). */
  async register(authKey: string): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.control.register({
          wireguardKey: this.wireguardKey,
          hostname: `node-${this.index}`,
          credential: { type: 'preauth-key', key: authKey },
        });
      } catch (err) {
        if (!(err instanceof ControlError) || !err.retryable || attempt >= 3) throw err;
        retries++;
      }
    }
  }

  /** Opens the map stream (or, for the floor, any ws URL) and handles what arrives. */
  connect(events: SimEvents, floorUrl?: string): Promise<void> {
    const url = new URL(floorUrl ?? MAP_PATH, this.control.serverUrl);
    url.protocol = 'ws:';
    const headers = floorUrl ? {} : { authorization: this.control.proof('GET', MAP_PATH) };
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    this.ws = ws;
    return new Promise((resolve, reject) => {
      ws.once('error', reject);
      if (floorUrl) ws.once('open', () => resolve());
      ws.on('message', (data) => {
        const text = data.toString();
        const msg = JSON.parse(text);
        const now = performance.now();
        if (msg.type === 'full') {
          events.onFull(this, text.length);
          resolve();
        } else if (msg.type === 'delta') {
          for (const p of msg.peersUpserted ?? []) events.onPeerUpserted(this, p.wireguardKey, now);
          if (msg.packetFilter) events.onFilter(this, text, now);
        } else if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong', t: msg.t }));
      });
    });
  }

  close(): void {
    this.ws?.terminate();
  }
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}
