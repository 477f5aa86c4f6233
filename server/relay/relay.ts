import { KEEPALIVE_TIMEOUT, MessageType, REJECT_AFTER_TIME, REKEY_TIMEOUT } from './constants.ts';
import { mac1KeyFor, mac1Valid } from './cookie.ts';
import { messageType, parseInitiation, parseResponse, receiverIndex } from './messages.ts';
import type { Reflector } from './reflector.ts';
import { RouteTable, type Route } from './routes.ts';
import { TokenBucket } from './token-bucket.ts';
import { endpointOf, type UdpAddress } from './udp-address.ts';

/**
 * Forwards WireGuard packets between two nodes that address each other through the server
 * (each configures the other's endpoint as the server's UDP address). It holds no keys: it
 * routes on what WireGuard leaves in the clear.
 *
 * Initiation:  1. the sender is the node the reflector last saw at this source address
 *                 (unknown yet: held briefly, see below)
 *              2. within the sender's initiation rate
 *              3. the destination is the visible peer whose public key makes mac1 valid
 *              4. not while the destination's own initiation to the sender is in flight (below)
 *              5. route the sender's index back to the sender for a little while; forward
 * Response:    1. the receiver index is routed from this sender, and mac1 is valid for its owner
 *              2. route the responder's index to it; both routes live as long as a session may
 * Cookie reply, transport: routed by receiver index from this sender; transport within the
 *              sender's packet and byte rates.
 * Sweep:       routes expire, and vanish as soon as the policy stops letting the pair see each other.
 * Held:        an agent brings up its tunnel to the server and its relayed peers at the same
 *              moment, so a relayed initiation often arrives before the sender (or destination)
 *              has authenticated. It waits, a few per address and briefly, and goes on as soon
 *              as the missing node is seen; otherwise WireGuard would retry only after 5 s.
 * Crossing:    two initiations between one pair at once (both agents start at the same time,
 *              and held ones go on together) ruin each other: a WireGuard peer keeps one
 *              handshake state, and consuming the other side's initiation discards its own, so
 *              both responses are refused. The later one is dropped; the earlier completes.
 */
export interface RelayDirectory {
  visiblePeers(nodeId: string): readonly string[];
  /** Base64 public key of a registered node. */
  wireguardKey(nodeId: string): string | undefined;
}

export interface RelayLimits {
  packetsPerSecond: number;
  bytesPerSecond: number;
  initiationsPerSecond: number;
}

const DEFAULT_RELAY_LIMITS: RelayLimits = {
  packetsPerSecond: 50_000,
  bytesPerSecond: 50 * 1024 * 1024,
  initiationsPerSecond: 20,
};

/** Nodes whose relay is another replica's (relay-link.ts). */
export interface RemoteRelays {
  holds(nodeId: string): boolean;
  /** Hands `packet` from node `from` to the replica holding `to`; false when none does or over budget. */
  deliver(from: string, to: string, packet: Uint8Array): boolean;
}

interface RelayDeps {
  directory: RelayDirectory;
  reflector: Reflector;
  send(packet: Uint8Array, to: UdpAddress): void;
  now(): number;
  limits?: Partial<RelayLimits>;
  /** Absent: one replica, every node's relay is this one. */
  remote?: RemoteRelays;
}

/** Where a datagram for a node goes: its address here, or the replica that holds it. */
type Destination = UdpAddress | 'remote';

type Verdict =
  'forwarded' | 'held' | 'crossed' | 'no-sender' | 'no-route' | 'rate-limited' | 'not-allowed' | 'no-destination';

interface Buckets {
  packets: TokenBucket;
  bytes: TokenBucket;
  initiations: TokenBucket;
}

/** A route from an unanswered initiation lives through one retry. */
const PENDING_ROUTE_MS = 2 * REKEY_TIMEOUT;
/** A session's indices are good until its key pair is rejected, plus slack for late packets. */
const SESSION_ROUTE_MS = REJECT_AFTER_TIME + KEEPALIVE_TIMEOUT;
/** An initiation is in flight this long: far above a relayed round trip, below REKEY_TIMEOUT. */
const CROSSING_MS = 1_000;
/**
 * Held initiations: how long, how many per awaited node or address, how many awaited at once.
 * Almost until the initiator's retry: a node that joined while its peer was still starting
 * (seconds apart on a loaded machine) gets its session as soon as the peer is seen, instead of
 * at its next retry 5 s later; later than that, the retry has replaced it anyway.
 */
const HOLD_MS = REKEY_TIMEOUT - 500;
const HOLD_PER_KEY = 4;
const HOLD_KEYS = 1_024;

interface Held {
  packet: Uint8Array;
  from: UdpAddress;
  until: number;
}

export class Relay {
  readonly routes = new RouteTable();
  private readonly limits: RelayLimits;
  private readonly buckets = new Map<string, Buckets>();
  private readonly mac1Keys = new Map<string, { publicKey: string; key: Uint8Array }>();
  private readonly held = new Map<string, Held[]>();
  /** `sender>destination` -> when its latest initiation was forwarded, until answered. */
  private readonly inFlight = new Map<string, number>();
  readonly counts = { forwarded: 0, dropped: 0 };

  constructor(private readonly deps: RelayDeps) {
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...deps.limits };
  }

  initiation(packet: Uint8Array, from: UdpAddress): Verdict {
    const msg = parseInitiation(packet);
    if (!msg) return this.drop('no-sender');
    const sender = this.deps.reflector.nodeAt(from);
    const now = this.deps.now();
    if (sender === undefined)
      return this.hold(`addr ${endpointOf(from)}`, packet, from, now) ? 'held' : this.drop('no-sender');
    if (!this.bucketsOf(sender, now).initiations.take(1, now)) return this.drop('rate-limited');
    const destination = this.deps.directory.visiblePeers(sender).find((id) => {
      const key = this.mac1KeyOf(id);
      return key !== undefined && mac1Valid(key, packet);
    });
    if (destination === undefined) return this.drop('not-allowed');
    const to = this.destinationOf(destination);
    if (!to) return this.hold(`node ${destination}`, packet, from, now) ? 'held' : this.drop('no-destination');
    const opposite = this.inFlight.get(`${destination}>${sender}`);
    if (opposite !== undefined && now - opposite < CROSSING_MS) return this.drop('crossed');
    this.routes.set({ index: msg.sender, owner: sender, peer: destination, expiresAt: now + PENDING_ROUTE_MS });
    const verdict = this.forward(sender, destination, packet, to, now);
    if (verdict === 'forwarded') this.inFlight.set(`${sender}>${destination}`, now);
    return verdict;
  }

  response(packet: Uint8Array, from: UdpAddress): Verdict {
    const msg = parseResponse(packet);
    const sender = this.deps.reflector.nodeAt(from);
    if (!msg || sender === undefined) return this.drop('no-sender');
    const now = this.deps.now();
    const back = this.routes.find(msg.receiver, sender, now);
    const key = back && this.mac1KeyOf(back.owner);
    if (!back || !key || !mac1Valid(key, packet)) return this.drop('no-route');
    const to = this.destinationOf(back.owner);
    if (!to) return this.drop('no-destination');
    this.inFlight.delete(`${back.owner}>${sender}`);
    this.routes.set({ ...back, expiresAt: now + SESSION_ROUTE_MS });
    this.routes.set({ index: msg.sender, owner: sender, peer: back.owner, expiresAt: now + SESSION_ROUTE_MS });
    return this.forward(sender, back.owner, packet, to, now);
  }

  /** Cookie replies and transport messages. */
  byIndex(packet: Uint8Array, from: UdpAddress): Verdict {
    const index = receiverIndex(packet);
    const sender = this.deps.reflector.nodeAt(from);
    if (index === undefined || sender === undefined) return this.drop('no-sender');
    const now = this.deps.now();
    const route = this.routes.find(index, sender, now);
    if (!route) return this.drop('no-route');
    const to = this.destinationOf(route.owner);
    if (!to) return this.drop('no-destination');
    return this.forward(sender, route.owner, packet, to, now);
  }

  /**
   * A datagram another replica's relay took from `sender` (a node there) for `destination` (a
   * node here), over the authenticated link. That replica checked the policy and routes as for
   * any sender; here a handshake must still be one for the destination's key (mac1) between a
   * pair that may see each other, and teaches the routes back to the sender, which packets from
   * the destination then follow over the link. The sender's budget applies here too.
   */
  fromLink(packet: Uint8Array, sender: string, destination: string): Verdict {
    const to = this.deps.reflector.addressOf(destination);
    if (!to) return this.drop('no-destination');
    const now = this.deps.now();
    const type = messageType(packet);
    if (type === MessageType.initiation || type === MessageType.response) {
      const msg = type === MessageType.initiation ? parseInitiation(packet) : parseResponse(packet);
      const key = this.mac1KeyOf(destination);
      if (!msg || !key || !mac1Valid(key, packet)) return this.drop('not-allowed');
      if (!this.deps.directory.visiblePeers(sender).includes(destination)) return this.drop('not-allowed');
      const lifetime = type === MessageType.initiation ? PENDING_ROUTE_MS : SESSION_ROUTE_MS;
      this.routes.set({ index: msg.sender, owner: sender, peer: destination, expiresAt: now + lifetime });
    } else if (type !== MessageType.cookieReply && type !== MessageType.transport) return this.drop('no-route');
    return this.forward(sender, destination, packet, to, now);
  }

  /** `nodeId` was just seen, authenticated, at `from`: initiations waiting for it go on. */
  seen(nodeId: string, from: UdpAddress): void {
    if (this.held.size === 0) return;
    const now = this.deps.now();
    for (const key of [`addr ${endpointOf(from)}`, `node ${nodeId}`]) {
      const list = this.held.get(key);
      if (!list) continue;
      this.held.delete(key);
      // The rate limit counted nothing for these yet; they are judged now as if just arrived.
      for (const h of list) if (h.until > now) this.initiation(h.packet, h.from);
    }
  }

  ownsIndex(index: number): boolean {
    return this.routes.has(index);
  }

  sweep(): void {
    const now = this.deps.now();
    const visible = new Map<string, Set<string>>();
    const sees = (a: string, b: string) => {
      let set = visible.get(a);
      if (!set) visible.set(a, (set = new Set(this.deps.directory.visiblePeers(a))));
      return set.has(b);
    };
    this.routes.sweep(now, (r: Route) => sees(r.owner, r.peer));
    for (const [key, list] of this.held) if (list.every((h) => h.until <= now)) this.held.delete(key);
    for (const [pair, at] of this.inFlight) if (now - at >= CROSSING_MS) this.inFlight.delete(pair);
    for (const [id, b] of this.buckets) {
      if (b.packets.idle(now) && b.bytes.idle(now) && b.initiations.idle(now)) this.buckets.delete(id);
    }
    for (const [id, k] of this.mac1Keys)
      if (this.deps.directory.wireguardKey(id) !== k.publicKey) this.mac1Keys.delete(id);
  }

  private destinationOf(nodeId: string): Destination | undefined {
    return this.deps.reflector.addressOf(nodeId) ?? (this.deps.remote?.holds(nodeId) ? 'remote' : undefined);
  }

  private forward(sender: string, destination: string, packet: Uint8Array, to: Destination, now: number): Verdict {
    const b = this.bucketsOf(sender, now);
    if (!b.packets.take(1, now) || !b.bytes.take(packet.length, now)) return this.drop('rate-limited');
    if (to === 'remote') {
      if (!this.deps.remote!.deliver(sender, destination, packet)) return this.drop('no-destination');
    } else this.deps.send(packet, to);
    this.counts.forwarded++;
    return 'forwarded';
  }

  private hold(key: string, packet: Uint8Array, from: UdpAddress, now: number): boolean {
    let list = this.held.get(key);
    if (!list) {
      if (this.held.size >= HOLD_KEYS) return false;
      this.held.set(key, (list = []));
    }
    if (list.length >= HOLD_PER_KEY) return false;
    list.push({ packet: packet.slice(), from: { address: from.address, port: from.port }, until: now + HOLD_MS });
    return true;
  }

  private drop(verdict: Verdict): Verdict {
    this.counts.dropped++;
    return verdict;
  }

  private bucketsOf(nodeId: string, now: number): Buckets {
    let b = this.buckets.get(nodeId);
    if (!b) {
      const l = this.limits;
      b = {
        packets: new TokenBucket(l.packetsPerSecond, l.packetsPerSecond, now),
        bytes: new TokenBucket(l.bytesPerSecond, l.bytesPerSecond, now),
        initiations: new TokenBucket(l.initiationsPerSecond, l.initiationsPerSecond, now),
      };
      this.buckets.set(nodeId, b);
    }
    return b;
  }

  private mac1KeyOf(nodeId: string): Uint8Array | undefined {
    const publicKey = this.deps.directory.wireguardKey(nodeId);
    if (publicKey === undefined) return undefined;
    const cached = this.mac1Keys.get(nodeId);
    if (cached?.publicKey === publicKey) return cached.key;
    const key = mac1KeyFor(new Uint8Array(Buffer.from(publicKey, 'base64')));
    this.mac1Keys.set(nodeId, { publicKey, key });
    return key;
  }
}
