import { generateKeyPairSync, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { Backoff } from '../../../client/control/backoff.ts';
import { ControlClient } from '../../../client/control/control-client.ts';
import { ControlError } from '../../../client/control/control-error.ts';

/** What a simulated node saw, for the benchmark to aggregate. Times are epoch ms (comparable across processes). */
export interface SimEvents {
  /** `relayPort`: the relay UDP port the map names, which tells replicas apart. */
  onFull(node: SimNode, bytes: number, at: number, relayPort: number): void;
  onPeerUpserted(node: SimNode, wireguardKey: string, at: number): void;
  onFilter(node: SimNode, text: string, at: number): void;
  /** The first message after the node's stream dropped and it reconnected: it has a map again. */
  onRemapped?(node: SimNode, at: number, resumed: boolean): void;
}

const MAP_PATH = '/api/v1/machine/map';

/** Registrations retried after a dropped connection, reported by the benchmark. */
export let retries = 0;

/** Wall-clock milliseconds with sub-millisecond precision, the same clock in every process. */
export const now = () => performance.timeOrigin + performance.now();

/**
 * One simulated node: its own machine and WireGuard keys, a real signed registration and a
 * real map stream. It does not keep the map (10,000 of them would measure the simulator); it
 * only reports what arrived, answers heartbeats and, like the agent, reconnects with jittered
 * backoff when its stream drops, moving to the next server URL it knows and resuming from the
 * map version it had.
 */
export class SimNode {
  readonly wireguardKey = wireguardPublicKey();
  // 32 random bytes are an Ed25519 private key (a seed), as generateMachineKey makes them.
  private readonly machinePrivateKey = randomBytes(32).toString('base64');
  /** One control client per server URL, made when first used. */
  private readonly clients: ControlClient[] = [];
  private control: ControlClient;
  private server = 0;
  private version = -1;
  private closed = false;
  private readonly backoff = new Backoff();
  ws?: WebSocket;

  constructor(
    readonly index: number,
    readonly team: number,
    /** Where the agent may reach the server: replicas, or the load balancer's address. */
    private readonly servers: string[],
  ) {
    this.server = index % servers.length;
    this.control = this.clientFor(this.server);
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
        // A proof that waited too long in an overloaded server's queue is signed afresh.
        const again = err instanceof ControlError && (err.retryable || err.code === 'proof.stale');
        if (!again || attempt >= 6) throw err;
        retries++;
        this.moveOn();
        await new Promise((r) => setTimeout(r, this.backoff.next()));
      }
    }
  }

  /**
   * Opens the map stream (or, for the floor, any ws URL) and handles what arrives; resolves at
   * the first map. With `reconnect`, a dropped stream is opened again until `close()`.
   */
  connect(events: SimEvents, options: { floorUrl?: string; reconnect?: boolean } = {}): Promise<void> {
    this.closed = false;
    return new Promise((resolve, reject) => this.open(events, options, false, resolve, reject));
  }

  private open(
    events: SimEvents,
    options: { floorUrl?: string; reconnect?: boolean },
    again: boolean,
    resolve: () => void,
    reject: (err: Error) => void,
  ): void {
    const { floorUrl } = options;
    const path = MAP_PATH + (this.version >= 0 && !floorUrl ? `?since=${this.version}` : '');
    const url = new URL(floorUrl ?? path, this.control.serverUrl);
    url.protocol = 'ws:';
    // The proof signs the path with its query, as the agent's does: a resume names its `since`.
    const headers = floorUrl ? {} : { authorization: this.control.proof('GET', path) };
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    this.ws = ws;
    let first = true;
    ws.once('error', (err) => {
      // With `reconnect`, a first attempt that fails is retried as the agent retries it.
      if (!again && !options.reconnect) reject(err);
    });
    ws.once('close', () => {
      if (this.closed || !options.reconnect || this.ws !== ws) return;
      this.moveOn();
      setTimeout(() => {
        if (!this.closed) this.open(events, options, true, resolve, reject);
      }, this.backoff.next());
    });
    if (floorUrl) ws.once('open', () => resolve());
    ws.on('message', (data) => {
      const text = data.toString();
      const msg = JSON.parse(text);
      const at = now();
      if (msg.type === 'full' || msg.type === 'delta') {
        this.version = msg.version;
        this.backoff.reset();
        if (first && again) events.onRemapped?.(this, at, msg.type === 'delta');
        first = false;
      }
      if (msg.type === 'full') {
        events.onFull(this, text.length, at, msg.relay?.udpPort ?? 0);
        resolve();
      } else if (msg.type === 'delta') {
        for (const p of msg.peersUpserted ?? []) events.onPeerUpserted(this, p.wireguardKey, at);
        if (msg.packetFilter) events.onFilter(this, text, at);
      } else if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong', t: msg.t }));
    });
  }

  /** The next server URL, as an agent with several moves on when its server goes away. */
  private moveOn(): void {
    if (this.servers.length < 2) return;
    this.server = (this.server + 1) % this.servers.length;
    this.control = this.clientFor(this.server);
  }

  private clientFor(server: number): ControlClient {
    return (this.clients[server] ??= new ControlClient(this.servers[server]!, this.machinePrivateKey));
  }

  /** The machine's public key, as the server knows the node. */
  get machineKey(): string {
    return this.control.machineKey;
  }

  close(): void {
    this.closed = true;
    this.ws?.terminate();
    this.version = -1;
  }
}

/**
 * A fresh WireGuard public key from the platform's X25519 (the simulator never uses the private
 * half; 50,000 of them through the agent's own checked key code would measure the simulator).
 */
function wireguardPublicKey(): string {
  const jwk = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('base64');
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}
