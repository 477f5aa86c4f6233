import { randomBytes } from 'node:crypto';
import { decodeLink, encodeLink, linkKeyOf, type LinkKind, type LinkMessage } from './link-message.ts';
import { ReplayWindow } from './replay-window.ts';
import { TokenBucket } from './token-bucket.ts';
import { endpointOf, type UdpAddress } from './udp-address.ts';

/**
 * The link between replicas' relays (server/relay/README.md, "Across replicas"): a node's
 * datagram for a peer whose relay is another replica's goes there, on the relay UDP ports
 * themselves, authenticated with a key derived from the cluster secret. What arrives is taken
 * only with a valid tag, a fresh clock, and a counter its session never used; every source and
 * every destination replica has a budget, so neither an outsider nor a runaway replica costs
 * more than that.
 */
export interface RelayLinkDeps {
  /** The cluster secret every replica is configured with (relay.link.secret). */
  secret: string;
  /** The relay UDP address of the replica holding this node's stream, when that is another replica. */
  locate(nodeId: string): UdpAddress | undefined;
  send(packet: Uint8Array, to: UdpAddress): void;
  now(): number;
  limits?: Partial<LinkLimits>;
}

export interface LinkLimits {
  /** Per peer replica (by address), each way. */
  packetsPerSecond: number;
  bytesPerSecond: number;
}

const DEFAULT_LIMITS: LinkLimits = { packetsPerSecond: 200_000, bytesPerSecond: 200 * 1024 * 1024 };
/** Clocks of replicas agree within this (NTP); older messages are refused, so replays die with it. */
export const LINK_FRESH_MS = 30_000;
/** Sessions remembered at once (one per replica process; restarts add new ones). */
const MAX_SESSIONS = 256;
/** Budgets for addresses that send link-shaped datagrams, authentic or not. */
const MAX_SOURCES = 4_096;

type Refusal = 'limited' | 'forged' | 'stale' | 'replayed';

export class RelayLink {
  private readonly key: Buffer;
  private readonly session = randomBytes(8);
  private counter = 0;
  private readonly limits: LinkLimits;
  private readonly windows = new Map<string, { window: ReplayWindow; seenAt: number }>();
  private readonly inbound = new Map<string, Budget>();
  private readonly outbound = new Map<string, Budget>();
  readonly counts = { sent: 0, received: 0, limited: 0, forged: 0, stale: 0, replayed: 0 };

  constructor(private readonly deps: RelayLinkDeps) {
    this.key = linkKeyOf(deps.secret);
    this.limits = { ...DEFAULT_LIMITS, ...deps.limits };
  }

  /** Whether `nodeId` is reached through another replica. */
  holds(nodeId: string): boolean {
    return this.deps.locate(nodeId) !== undefined;
  }

  /** Sends `payload` from node `from` to node `to` on the replica holding `to`; false when none does or over budget. */
  send(kind: LinkKind, from: string, to: string, payload: Uint8Array): boolean {
    const at = this.deps.locate(to);
    if (!at) return false;
    const now = this.deps.now();
    const packet = encodeLink(this.key, {
      kind,
      session: this.session,
      counter: this.counter++,
      sentAt: now,
      from,
      to,
      payload,
    });
    if (!budgetOf(this.outbound, at, this.limits, now).take(packet.length, now)) {
      this.counts.limited++;
      return false;
    }
    this.counts.sent++;
    this.deps.send(packet, at);
    return true;
  }

  /** The message in a link datagram from `from`, when it is authentic, fresh and new; undefined otherwise. */
  receive(packet: Uint8Array, from: UdpAddress): LinkMessage | undefined {
    const now = this.deps.now();
    if (!budgetOf(this.inbound, from, this.limits, now).take(packet.length, now)) return this.refuse('limited');
    const m = decodeLink(this.key, packet);
    if (!m) return this.refuse('forged');
    if (Math.abs(now - m.sentAt) > LINK_FRESH_MS) return this.refuse('stale');
    const id = m.session.toString('hex');
    let known = this.windows.get(id);
    if (!known) {
      if (this.windows.size >= MAX_SESSIONS) this.forgetOldestSession();
      this.windows.set(id, (known = { window: new ReplayWindow(), seenAt: now }));
    }
    if (!known.window.accept(m.counter)) return this.refuse('replayed');
    known.seenAt = now;
    this.counts.received++;
    return m;
  }

  /** Forgets sessions silent for longer than any of their messages stays fresh, and idle budgets. */
  sweep(): void {
    const now = this.deps.now();
    for (const [id, s] of this.windows) if (now - s.seenAt > 2 * LINK_FRESH_MS) this.windows.delete(id);
    for (const budgets of [this.inbound, this.outbound])
      for (const [at, b] of budgets) if (b.idle(now)) budgets.delete(at);
  }

  private refuse(why: Refusal): undefined {
    this.counts[why]++;
    return undefined;
  }

  private forgetOldestSession(): void {
    let oldest: [string, number] | undefined;
    for (const [id, s] of this.windows) if (!oldest || s.seenAt < oldest[1]) oldest = [id, s.seenAt];
    if (oldest) this.windows.delete(oldest[0]);
  }
}

/** A packet and a byte budget for one address. */
class Budget {
  private readonly packets: TokenBucket;
  private readonly bytes: TokenBucket;

  constructor(limits: LinkLimits, now: number) {
    this.packets = new TokenBucket(limits.packetsPerSecond, limits.packetsPerSecond, now);
    this.bytes = new TokenBucket(limits.bytesPerSecond, limits.bytesPerSecond, now);
  }

  take(length: number, now: number): boolean {
    return this.packets.take(1, now) && this.bytes.take(length, now);
  }

  idle(now: number): boolean {
    return this.packets.idle(now) && this.bytes.idle(now);
  }
}

function budgetOf(budgets: Map<string, Budget>, at: UdpAddress, limits: LinkLimits, now: number): Budget {
  const key = endpointOf(at);
  let b = budgets.get(key);
  if (!b) {
    // A flood of spoofed sources must not grow this without bound: start over rather than refuse everyone.
    if (budgets.size >= MAX_SOURCES) budgets.clear();
    budgets.set(key, (b = new Budget(limits, now)));
  }
  return b;
}
