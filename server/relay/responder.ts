import { HANDSHAKE_INITIATION_RATE } from './constants.ts';
import { addressBytes, CookieChecker } from './cookie.ts';
import { consumeInitiation, createResponse, type StaticIdentity } from './handshake.ts';
import { Keypair } from './keypair.ts';
import { parseInitiation, parseTransport } from './messages.ts';
import type { UdpAddress } from './udp-address.ts';

/**
 * The server as a WireGuard peer of every registered node, responder only (agents initiate and
 * keep the tunnel up with a persistent keepalive; they also rekey, every REKEY_AFTER_TIME).
 *
 * Initiation:  1. mac1 under the server's key, else it is not for us (the relay may take it)
 *              2. under load, a valid mac2 or a cookie reply instead
 *              3. decrypt; the static key must be a registered node's
 *              4. TAI64N newer than the last one from that peer (replay), not too soon (flood)
 *              5. new unconfirmed key pair under a fresh receiver index; send the response
 * Transport:   1. our receiver index and an authentic, unreplayed counter, else not for us
 *              2. the first packet under a new key pair confirms it and retires the oldest
 *              3. report the node and its source address (the reflector's only input)
 *              4. answer with a keepalive: at once on a new session, then at most once a second
 */
interface ResponderDeps {
  identity: StaticIdentity;
  /** The registered node holding this WireGuard key (base64), if any. */
  nodeForKey(publicKey: string): string | undefined;
  send(packet: Uint8Array, to: UdpAddress): void;
  now(): number;
  /** True while initiations arrive faster than we answer without a cookie round trip. */
  underLoad(): boolean;
  /** A receiver index that nothing else on this port uses. */
  newIndex(): number;
  /** An authentic transport packet from `nodeId` arrived from `from`. */
  onAuthenticated(nodeId: string, from: UdpAddress): void;
}

type Outcome = 'handled' | 'not-mine';

const KEEPALIVE_REPLY_INTERVAL = 1_000;

interface PeerState {
  publicKey: string;
  nodeId: string;
  lastTimestamp?: Uint8Array;
  lastInitiationAt: number;
  lastKeepaliveReplyAt: number;
  next?: Keypair;
  current?: Keypair;
  previous?: Keypair;
}

export class Responder {
  readonly cookies: CookieChecker;
  private readonly peers = new Map<string, PeerState>();
  private readonly byIndex = new Map<number, { peer: PeerState; keypair: Keypair }>();
  readonly counts = { handshakes: 0, cookieReplies: 0 };

  constructor(private readonly deps: ResponderDeps) {
    this.cookies = new CookieChecker(deps.identity.publicKey, deps.now);
  }

  get sessionCount(): number {
    return this.byIndex.size;
  }

  ownsIndex(index: number): boolean {
    return this.byIndex.has(index);
  }

  handleInitiation(packet: Uint8Array, from: UdpAddress): Outcome {
    const msg = parseInitiation(packet);
    if (!msg || !this.cookies.checkMac1(packet)) return 'not-mine';
    const source = addressBytes(from.address, from.port);
    if (this.deps.underLoad() && !this.cookies.checkMac2(packet, source)) {
      this.deps.send(this.cookies.createReply(packet, msg.sender, source), from);
      this.counts.cookieReplies++;
      return 'handled';
    }
    const consumed = consumeInitiation(this.deps.identity, msg, (key) => this.deps.nodeForKey(b64(key)) !== undefined);
    if (!consumed) return 'handled';
    const publicKey = b64(consumed.peerPublicKey);
    const nodeId = this.deps.nodeForKey(publicKey)!;
    const now = this.deps.now();
    let peer = this.peers.get(publicKey);
    if (!peer || peer.nodeId !== nodeId) {
      if (peer) this.dropPeer(peer);
      peer = { publicKey, nodeId, lastInitiationAt: -Infinity, lastKeepaliveReplyAt: -Infinity };
      this.peers.set(publicKey, peer);
    }
    if (peer.lastTimestamp && Buffer.compare(consumed.timestamp, peer.lastTimestamp) <= 0) return 'handled'; // replay
    if (now - peer.lastInitiationAt < HANDSHAKE_INITIATION_RATE) return 'handled'; // flood
    peer.lastTimestamp = consumed.timestamp;
    peer.lastInitiationAt = now;

    const localIndex = this.deps.newIndex();
    const { message, keys } = createResponse(consumed, localIndex);
    const keypair = new Keypair(localIndex, consumed.senderIndex, keys, now);
    if (peer.next) this.byIndex.delete(peer.next.localIndex);
    peer.next = keypair;
    this.byIndex.set(localIndex, { peer, keypair });
    this.deps.send(message, from);
    this.counts.handshakes++;
    return 'handled';
  }

  handleTransport(packet: Uint8Array, from: UdpAddress): Outcome {
    // Relayed traffic passes here first: the index alone says whether to look closer.
    if (
      packet.length < 8 ||
      !this.byIndex.has((packet[4]! | (packet[5]! << 8) | (packet[6]! << 16) | (packet[7]! << 24)) >>> 0)
    )
      return 'not-mine';
    const msg = parseTransport(packet);
    const entry = msg && this.byIndex.get(msg.receiver);
    if (!msg || !entry) return 'not-mine';
    const now = this.deps.now();
    const { peer, keypair } = entry;
    const plaintext = keypair.open(msg, now);
    if (!plaintext) return 'not-mine';
    if (peer.next === keypair) {
      if (peer.previous) this.byIndex.delete(peer.previous.localIndex);
      peer.previous = peer.current;
      peer.current = keypair;
      peer.next = undefined;
      peer.lastKeepaliveReplyAt = -Infinity; // a new session hears back at once
    }
    this.deps.onAuthenticated(peer.nodeId, from);
    // Data has no destination here (the server has no tunnel device): only liveness matters.
    if (now - peer.lastKeepaliveReplyAt >= KEEPALIVE_REPLY_INTERVAL) {
      const keepalive = peer.current?.seal(new Uint8Array(0), now);
      if (keepalive) {
        peer.lastKeepaliveReplyAt = now;
        this.deps.send(keepalive, from);
      }
    }
    return 'handled';
  }

  /** Drops expired key pairs and peers whose key no longer belongs to a registered node. */
  sweep(): void {
    const now = this.deps.now();
    for (const peer of this.peers.values()) {
      if (this.deps.nodeForKey(peer.publicKey) !== peer.nodeId) {
        this.dropPeer(peer);
        continue;
      }
      for (const slot of ['next', 'current', 'previous'] as const) {
        const kp = peer[slot];
        if (kp?.expired(now)) {
          this.byIndex.delete(kp.localIndex);
          peer[slot] = undefined;
        }
      }
    }
  }

  private dropPeer(peer: PeerState): void {
    for (const kp of [peer.next, peer.current, peer.previous]) if (kp) this.byIndex.delete(kp.localIndex);
    this.peers.delete(peer.publicKey);
  }
}

const b64 = (key: Uint8Array) => Buffer.from(key).toString('base64');
