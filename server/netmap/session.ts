import { jsonArray, jsonObject, jsonText, type JsonFields, type JsonText } from '../../protocol/json-text.ts';
import type { DeltaMap, DnsConfig, FullMap, RelayConfig, SeqNote, ServerMessage } from '../../protocol/map.ts';
import type { Peer } from '../../protocol/node.ts';
import type { LiveNode, PeerVariant } from './live-node.ts';
import type { Flushable, Flusher } from './flusher.ts';
import type { SharedFilter } from './filter-json.ts';
import { versionStride, type SentState } from './sent-state.ts';
import type { ResumeTouches } from './resume-touches.ts';

/** The part of a WebSocket a session needs; lets the engine stay transport-agnostic. */
export interface MapSocket {
  send(text: string): void;
  readonly bufferedAmount: number;
  close(code: number, reason: string): void;
}

/** The parts of every full map that are the same for all nodes, serialized once. */
export interface StaticParts {
  dns: JsonText<DnsConfig>;
  relay: JsonText<RelayConfig>;
  meshRanges: JsonText<string[]>;
  protocolVersion: JsonText<number>;
}

/** What a session reads from the engine when it builds a message. */
export interface MapSource {
  node(id: string): LiveNode | undefined;
  /** What `viewer` sees differently of `peer` (exit routes, `via` routers). */
  variantOf(viewer: string, peer: LiveNode): PeerVariant;
  /** The peers of every node with `id`'s keys, `id` itself possibly among them (skip it); equal lists are one object. */
  peerGroupOf(id: string): readonly string[];
  /** The node's filter: a template shared with every node of the same keys, and its own addresses. */
  filterOf(id: string): { shared: SharedFilter; own: readonly string[] };
  policyWarning(): string | undefined;
  staticJson(): StaticParts;
  /** The last change-log seq applied: every message says which changes it reflects (undefined: no log). */
  changeSeq(): number | undefined;
  /** Routers' peer entries follow route elections, which no change-log row names. */
  isRouter(id: string): boolean;
}

/**
 * How a session starts: `here`, from the sent state this replica kept; `elsewhere`, from a map
 * another replica sent, which differs from this replica's view only in `touched` nodes.
 */
export type SessionResume = 'here' | { elsewhere: ResumeTouches };

/** Bytes queued in the socket above which a session waits before sending more. */
const HIGH_WATER_BYTES = 256 * 1024;

/**
 * One agent's map stream. Changes only mark it dirty; the message is built when the socket can
 * take it, from the current state against what was last sent. A stalled agent therefore never
 * holds anyone back and never accumulates a backlog: it gets one merged delta when it drains.
 *
 * Two kinds of dirt: a change of what this node may see (policy, joins, leaves) needs a scan of
 * its whole view; a change of one peer's record (key, endpoint, online) needs only that peer.
 */
export class MapSession implements Flushable {
  private viewDirty = false;
  /** Every peer's revision must be checked, not only the ones marked (after a resume). */
  private revisionsUnknown = false;
  private readonly dirtyPeers = new Set<string>();
  private closed = false;
  /** The change-log seq the last message named. */
  private sentSeq: number | undefined;
  /** A seq note was due while changes were pending: owed if their flush sends nothing. */
  private seqOwed = false;

  constructor(
    readonly nodeId: string,
    private readonly socket: MapSocket,
    readonly sent: SentState,
    private readonly source: MapSource,
    private readonly flusher: Flusher,
    private readonly onSent: (kind: 'full' | 'delta', bytes: number) => void,
    private readonly resume: SessionResume | undefined,
  ) {}

  /** Sends the first message: a full map, or a delta when resuming from a known version. */
  start(): void {
    if (typeof this.resume === 'object') this.sendResume(this.resume.elsewhere);
    else if (this.resume === 'here') {
      this.viewDirty = true; // anything may have changed while it was away
      this.revisionsUnknown = true;
      this.sendDelta(true);
    } else this.sendFull();
  }

  /** What this node may see changed: rescan its view. */
  markViewDirty(): void {
    if (this.closed) return;
    this.viewDirty = true;
    this.flusher.add(this);
  }

  /** One node's record changed (a peer, or this node itself). */
  markPeerDirty(id: string): void {
    if (this.closed) return;
    this.dirtyPeers.add(id);
    this.flusher.add(this);
  }

  get pending(): boolean {
    return this.viewDirty || this.dirtyPeers.size > 0;
  }

  get queuedBytes(): number {
    return this.socket.bufferedAmount;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.flusher.delete(this);
    this.socket.close(code, reason);
  }

  send(text: JsonText<ServerMessage>): void {
    if (!this.closed) this.socket.send(text);
  }

  flush(): boolean {
    if (this.closed || !this.pending) return true;
    if (this.socket.bufferedAmount > HIGH_WATER_BYTES) return false;
    this.sendDelta();
    const seq = this.source.changeSeq();
    if (this.seqOwed && seq !== undefined) this.noteSeq(seq);
    return true;
  }

  private sendFull(): void {
    const self = this.source.node(this.nodeId);
    if (!self) return;
    const sent = this.sent;
    sent.peers.clear();
    const { peers: peerJson, filter } = this.takeView(self, () => true);
    sent.version++;
    const { dns, relay, meshRanges, protocolVersion } = this.source.staticJson();
    const text = jsonObject<FullMap>({
      type: jsonText('full'),
      version: jsonText(sent.version),
      self: jsonText(self.self()),
      peers: jsonArray(peerJson),
      packetFilter: filter.shared.json(filter.own),
      dns,
      relay,
      meshRanges,
      policyWarning: sent.policyWarning === undefined ? undefined : jsonText(sent.policyWarning),
      protocolVersion,
      changeSeq: this.changeSeq(),
    });
    this.send(text);
    this.onSent('full', text.length);
  }

  /**
   * Takes this node's whole view as sent (its peers, filter, self and policy warning) and gives
   * the JSON of the peers `send` picks, with the filter: a full map sends every peer, a resume
   * from another replica only those that may differ from what that replica sent.
   */
  private takeView(
    self: LiveNode,
    send: (id: string) => boolean,
  ): { peers: JsonText<Peer>[]; filter: { shared: SharedFilter; own: readonly string[] } } {
    const sent = this.sent;
    const peers: JsonText<Peer>[] = [];
    sent.peerGroup = this.source.peerGroupOf(this.nodeId);
    for (const id of sent.peerGroup) {
      if (id === this.nodeId) continue;
      const peer = this.source.node(id);
      if (!peer) continue;
      const variant = this.source.variantOf(this.nodeId, peer);
      sent.peers.set(id, stamp(peer, variant));
      if (send(id)) peers.push(peer.peerJson(variant));
    }
    const filter = this.source.filterOf(this.nodeId);
    sent.filter = filter.shared;
    sent.filterOwn = filter.own;
    sent.selfRevision = self.revision;
    sent.policyWarning = this.source.policyWarning();
    return { peers, filter };
  }

  private sendDelta(force = false): void {
    const self = this.source.node(this.nodeId);
    if (!self) return;
    const sent = this.sent;
    const parts: Omit<JsonFields<DeltaMap>, 'type' | 'version' | 'fromVersion'> = {};
    const upserted: JsonText<Peer>[] = [];
    const removed: string[] = [];
    if (this.viewDirty) this.scanView(upserted, removed);
    else this.scanPeers(this.dirtyPeers, upserted);
    this.viewDirty = false;
    this.revisionsUnknown = false;
    this.dirtyPeers.clear();
    if (upserted.length) parts.peersUpserted = jsonArray(upserted);
    if (removed.length) parts.peersRemoved = jsonText(removed);
    // Equal templates are one object, so this finds an unchanged filter without writing it.
    const filter = this.source.filterOf(this.nodeId);
    if (filter.shared !== sent.filter || !sameList(filter.own, sent.filterOwn)) {
      sent.filter = filter.shared;
      sent.filterOwn = filter.own;
      parts.packetFilter = filter.shared.json(filter.own);
    }
    if (self.revision !== sent.selfRevision) {
      sent.selfRevision = self.revision;
      parts.self = jsonText(self.self());
    }
    const warning = this.source.policyWarning();
    if (warning !== sent.policyWarning) {
      sent.policyWarning = warning;
      parts.policyWarning = jsonText(warning ?? null);
    }
    if (Object.keys(parts).length === 0 && !force) return;
    const from = sent.version++;
    const text = jsonObject<DeltaMap>({
      type: jsonText('delta'),
      version: jsonText(sent.version),
      fromVersion: jsonText(from),
      ...parts,
      changeSeq: this.changeSeq(),
    });
    this.send(text);
    this.onSent('delta', text.length);
  }

  /**
   * Takes over from a map another replica sent at `sent.version`: this replica's view, as if it
   * had sent it, except for the `touched` nodes (and routers, whose entries follow elections),
   * which are sent again or removed. The filter, self and settings are small: always sent.
   */
  private sendResume(touched: ResumeTouches): void {
    const self = this.source.node(this.nodeId);
    if (!self) return;
    const sent = this.sent;
    const { peers: upserted, filter } = this.takeView(self, (id) => touched.has(id) || this.source.isRouter(id));
    const removed = [...touched.removable()].filter((id) => id !== this.nodeId && !sent.peers.has(id));
    const from = sent.version;
    sent.version += 1 + versionStride(); // see engine.ts attach
    const { dns, relay, meshRanges, protocolVersion } = this.source.staticJson();
    const text = jsonObject<DeltaMap>({
      type: jsonText('delta'),
      version: jsonText(sent.version),
      fromVersion: jsonText(from),
      self: jsonText(self.self()),
      peersUpserted: upserted.length ? jsonArray(upserted) : undefined,
      peersRemoved: removed.length ? jsonText(removed) : undefined,
      packetFilter: filter.shared.json(filter.own),
      policyWarning: jsonText(sent.policyWarning ?? null),
      changeSeq: this.changeSeq(),
      dns,
      relay,
      meshRanges,
      protocolVersion,
    });
    this.send(text);
    this.onSent('delta', text.length);
  }

  /**
   * The map sent reflects every change up to `seq` (applied, and nothing pending here): tell the
   * agent, so that a resume elsewhere starts from it.
   */
  noteSeq(seq: number): void {
    if (this.closed || (this.sentSeq !== undefined && this.sentSeq >= seq)) return;
    // Pending changes are sent first; a delta names the seq, or the note follows (flush).
    this.seqOwed = this.pending;
    if (this.seqOwed) return;
    this.sentSeq = seq;
    this.send(jsonText<SeqNote>({ type: 'seq', changeSeq: seq }));
  }

  private changeSeq(): JsonText<number> | undefined {
    const seq = this.source.changeSeq();
    this.sentSeq = seq;
    return seq === undefined ? undefined : jsonText(seq);
  }

  /** Compares the whole visible set with what was sent. */
  private scanView(upserted: string[], removed: string[]): void {
    const sent = this.sent;
    const visible = this.source.peerGroupOf(this.nodeId);
    // Same peers as before (a policy change that moved only ports): revisions that changed
    // were marked one by one, so only those need a look. Equal lists are one object.
    if (!this.revisionsUnknown && visible === sent.peerGroup) {
      this.scanPeers(this.dirtyPeers, upserted);
      return;
    }
    sent.peerGroup = visible;
    const sentBefore = sent.peers.size;
    let stillSent = 0;
    for (const id of visible) {
      if (id === this.nodeId) continue;
      const peer = this.source.node(id);
      if (!peer) continue;
      const sentStamp = sent.peers.get(id);
      if (sentStamp !== undefined) stillSent++;
      const variant = this.source.variantOf(this.nodeId, peer);
      const now = stamp(peer, variant);
      if (sentStamp !== now) {
        sent.peers.set(id, now);
        upserted.push(peer.peerJson(variant));
      }
    }
    // Usually nobody left: every peer sent before is still visible, and no set is needed.
    if (stillSent === sentBefore) return;
    const visibleSet = new Set(visible);
    visibleSet.delete(this.nodeId);
    for (const id of sent.peers.keys()) if (!visibleSet.has(id)) removed.push(id);
    for (const id of removed) sent.peers.delete(id);
  }

  /** Only these peers' records changed; who is visible did not. */
  private scanPeers(ids: Iterable<string>, upserted: string[]): void {
    const sent = this.sent;
    for (const id of ids) {
      const sentStamp = sent.peers.get(id);
      const peer = sentStamp === undefined ? undefined : this.source.node(id);
      if (!peer) continue;
      const variant = this.source.variantOf(this.nodeId, peer);
      const now = stamp(peer, variant);
      if (now !== sentStamp) {
        sent.peers.set(id, now);
        upserted.push(peer.peerJson(variant));
      }
    }
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What was sent of a peer: its revision and the viewer's variant of it. */
function stamp(peer: LiveNode, variant: PeerVariant): string {
  return variant.key === '' ? String(peer.revision) : `${peer.revision}|${variant.key}`;
}
