import { generateKeyPairSync, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import type { DeltaMap, FullMap } from '../../../protocol/map.ts';
import { Backoff } from '../../../client/control/backoff.ts';
import { ControlClient } from '../../../client/control/control-client.ts';
import { ControlError } from '../../../client/control/control-error.ts';
import { MapState, type MapChange } from '../../../client/control/map-state.ts';
import { MapStream } from '../../../client/control/map-stream.ts';

/** What a simulated node saw, for the benchmark to aggregate. Times are epoch ms (comparable across processes). */
export interface SimEvents {
  /** `relayPort`: the relay UDP port the map names, which tells replicas apart. */
  onFull(node: SimNode, bytes: number, at: number, relayPort: number): void;
  onPeerUpserted(node: SimNode, wireguardKey: string, at: number): void;
  /** `text`: the message (the floor server sends one of these to its clients). */
  onFilter(node: SimNode, bytes: number, at: number, text: () => string): void;
  /** The first map after the node's stream dropped and it reconnected: it has a map again, from the replica of `relayPort`. */
  onRemapped?(node: SimNode, at: number, resumed: boolean, relayPort: number): void;
}

/** Registrations retried after a dropped connection, reported by the benchmark. */
export let retries = 0;

/** Wall-clock milliseconds with sub-millisecond precision, the same clock in every process. */
export const now = () => performance.timeOrigin + performance.now();

/**
 * One simulated node: its own machine and WireGuard keys, a real signed registration and the
 * agent's own map stream (client/control/map-stream.ts): its reconnects, backoff, moves between
 * server URLs and resumes are the agent's. It does not keep the map (10,000 of them would
 * measure the simulator): its MapState keeps only the version, the seq and the relay.
 */
export class SimNode {
  readonly wireguardKey = wireguardPublicKey();
  // 32 random bytes are an Ed25519 private key (a seed), as generateMachineKey makes them.
  private readonly machinePrivateKey = randomBytes(32).toString('base64');
  private readonly control: ControlClient;
  private readonly backoff = new Backoff();
  private stream?: MapStream;
  private floor?: WebSocket;

  constructor(
    readonly index: number,
    readonly team: number,
    /** Where the agent may reach the server: replicas, or the load balancers' addresses. */
    servers: string[],
  ) {
    // Spread over the URLs as a fleet given them in different orders would be.
    const first = index % servers.length;
    this.control = new ControlClient([...servers.slice(first), ...servers.slice(0, first)], this.machinePrivateKey);
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
        await new Promise((r) => setTimeout(r, this.backoff.next()));
      }
    }
  }

  /** Opens the map stream and reports what arrives; resolves at the first map. It reconnects until `close()`. */
  connect(events: SimEvents): Promise<void> {
    return new Promise((resolve) => {
      const state = new CountingState();
      let dropped = false;
      const stream = new MapStream(
        this.control,
        {
          onConnection: (up) => {
            if (!up && state.version >= 0) dropped = true;
          },
          onMap: (_state, change, bytes) => {
            const at = now();
            const msg = state.last; // kept only until here: a fleet's last messages are a lot of memory
            state.last = undefined;
            if (dropped) events.onRemapped?.(this, at, !change.full, state.relay?.udpPort ?? 0);
            dropped = false;
            if (change.full) {
              events.onFull(this, bytes, at, state.relay?.udpPort ?? 0);
              resolve();
              return;
            }
            for (const p of change.peersUpserted) events.onPeerUpserted(this, p.wireguardKey, at);
            if (change.filterChanged) events.onFilter(this, bytes, at, () => JSON.stringify(msg));
          },
        },
        { validate: false, state },
      );
      this.stream = stream;
      stream.start();
    });
  }

  /** The floor: the same deltas from a bare ws server, handled as the stream handles them. */
  connectFloor(events: SimEvents, url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      this.floor = ws;
      const state = new CountingState();
      ws.once('error', reject);
      ws.once('open', () => resolve());
      ws.on('message', (data) => {
        const text = data.toString();
        const msg = JSON.parse(text) as DeltaMap;
        state.version = msg.fromVersion; // the floor sends one delta, from wherever
        const change = state.apply(msg);
        if (change.filterChanged) events.onFilter(this, text.length, now(), () => text);
      });
    });
  }

  /** The machine's public key, as the server knows the node. */
  get machineKey(): string {
    return this.control.machineKey;
  }

  close(): void {
    this.stream?.stop();
    this.stream = undefined;
    this.floor?.terminate();
    this.floor = undefined;
  }
}

/**
 * The agent's MapState as far as the stream needs it (version and seq, checked as the agent
 * checks them, and the relay, which names the replica) without the peers.
 */
class CountingState extends MapState {
  /** The message just applied, for its text (the benchmark's sample); the stream's handler clears it. */
  last: FullMap | DeltaMap | undefined;

  override apply(msg: FullMap | DeltaMap): MapChange {
    if (msg.type === 'delta' && msg.fromVersion !== this.version) {
      throw new ControlError('map.out_of_step', `delta from ${msg.fromVersion} does not follow ${this.version}`);
    }
    this.last = msg;
    this.version = msg.version;
    this.changeSeq = msg.changeSeq;
    if (msg.relay) this.relay = msg.relay;
    const full = msg.type === 'full';
    return {
      full,
      peersUpserted: full ? msg.peers : (msg.peersUpserted ?? []),
      peersRemoved: full ? [] : (msg.peersRemoved ?? []),
      filterChanged: full || msg.packetFilter !== undefined,
      selfChanged: full || msg.self !== undefined,
    };
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
