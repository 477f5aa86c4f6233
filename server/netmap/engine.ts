import { PolicyNetwork, toTopology, type MeshRanges, type Policy } from '../../policy/index.ts';
import type { PolicyTopology } from '../../protocol/policy-topology.ts';
import { jsonText, type JsonText } from '../../protocol/json-text.ts';
import { CloseCode, type DnsConfig, type Goodbye, type RelayConfig, type ServerMessage } from '../../protocol/map.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { RouteHealthReport } from '../../protocol/route-health.ts';
import type { NodeRecord, UserRecord } from '../store/records.ts';
import { LiveNode } from './live-node.ts';
import { MapSession, type MapSocket, type MapSource, type StaticParts } from './session.ts';
import { SentState } from './sent-state.ts';
import { Flusher } from './flusher.ts';
import { SharedFilters, type SharedFilter } from './filter-json.ts';

interface NetmapOptions {
  /** The mesh's address ranges: what `*` means as a source. */
  mesh: MeshRanges;
  dns: DnsConfig;
  relay: RelayConfig;
  now: () => number;
  onSent?: (kind: 'full' | 'delta', bytes: number) => void;
  /** How long a disconnected node's sent state is kept for a resume. */
  resumeWindowMs?: number;
  /** How long changes gather before they are sent, so a burst becomes one message. */
  batchMs?: number;
}

type RemovalReason = 'deleted' | 'expired' | 'ephemeral';

/**
 * The in-memory network: live nodes, their owners, the compiled policy, and the open map
 * streams. Every change is applied here after the database has committed it, and marks dirty
 * exactly the sessions whose view it may change: the nodes the policy engine names, plus the
 * peers of a node whose own record changed. Nothing here is ever computed for all pairs.
 */
export class NetmapEngine implements MapSource {
  private readonly nodes = new Map<string, LiveNode>();
  private readonly byWireguardKey = new Map<string, string>();
  private readonly users = new Map<string, UserRecord>();
  private readonly sessions = new Map<string, MapSession>();
  private readonly retained = new Map<string, { state: SentState; until: number }>();
  private readonly filters = new SharedFilters();
  private readonly flusher: Flusher;
  private network: PolicyNetwork;
  private warning: string | undefined;
  private readonly staticParts: StaticParts;
  /** Versions start at boot time so they keep growing across restarts. */
  private readonly versionBase: number;

  constructor(
    policy: Policy,
    starter: boolean,
    private readonly options: NetmapOptions,
  ) {
    this.network = new PolicyNetwork(policy, { mesh: options.mesh });
    this.warning = starter ? STARTER_WARNING : undefined;
    this.staticParts = {
      dns: jsonText(options.dns),
      relay: jsonText(options.relay),
      meshRanges: jsonText(options.mesh.include),
      protocolVersion: jsonText(PROTOCOL_VERSION),
    };
    this.versionBase = options.now();
    this.flusher = new Flusher(options.batchMs ?? 10);
  }

  // ---- MapSource ----
  node(id: string): LiveNode | undefined {
    return this.nodes.get(id);
  }
  peerGroupOf(id: string): readonly string[] {
    return this.network.peerGroupOf(id);
  }
  filterOf(id: string): { shared: SharedFilter; own: readonly string[] } {
    const { template, own } = this.network.filterTemplateOf(id);
    return { shared: this.filters.of(template), own };
  }
  policyWarning(): string | undefined {
    return this.warning;
  }
  staticJson(): StaticParts {
    return this.staticParts;
  }

  // ---- reads ----
  get nodeCount(): number {
    return this.nodes.size;
  }
  get connectedCount(): number {
    return this.sessions.size;
  }
  isOnline(id: string): boolean {
    return this.nodes.get(id)?.online ?? false;
  }
  queueDepths(): { pending: number; queuedBytes: number } {
    let queuedBytes = 0;
    for (const s of this.sessions.values()) queuedBytes += s.queuedBytes;
    return { pending: this.flusher.size, queuedBytes };
  }
  /** Every live node as the policy sees it, with the mesh ranges it is compiled with. */
  policyTopology(): PolicyTopology {
    return toTopology(
      [...this.nodes.values()].map((n) => n.policyNode()),
      { mesh: this.options.mesh },
    );
  }
  visiblePeers(id: string): readonly string[] {
    return this.nodes.has(id) ? this.network.peersOf(id) : [];
  }
  /** Sends an out-of-map message (a path trial) on the node's stream; false when it has none. */
  sendTo(id: string, text: JsonText<ServerMessage>): boolean {
    const session = this.sessions.get(id);
    session?.send(text);
    return session !== undefined;
  }
  /** The live node holding this WireGuard public key (base64), if any. */
  nodeIdForWireguardKey(key: string): string | undefined {
    return this.byWireguardKey.get(key);
  }

  /** Rebuilds the network from the database at start, before any stream is open. */
  load(users: UserRecord[], nodes: NodeRecord[]): void {
    for (const u of users) this.users.set(u.id, u);
    const live = nodes
      .filter((n) => !this.isExpired(n))
      .map((n) => new LiveNode(n, n.userId ? this.users.get(n.userId) : undefined));
    for (const n of live) this.nodes.set(n.id, n);
    for (const n of live) this.byWireguardKey.set(n.record.wireguardKey, n.id);
    this.network.loadNodes(live.map((n) => n.policyNode()));
  }

  // ---- changes (call after the database committed them) ----
  upsertUser(user: UserRecord): void {
    const before = this.users.get(user.id);
    this.users.set(user.id, user);
    if (!before || JSON.stringify(before) === JSON.stringify(user)) return;
    for (const live of this.nodes.values()) {
      if (live.record.userId === user.id) this.upsertNode(live.record);
    }
  }

  upsertNode(record: NodeRecord): void {
    if (this.isExpired(record)) {
      if (this.nodes.has(record.id)) this.removeNode(record.id, 'expired');
      return;
    }
    const owner = record.userId ? this.users.get(record.userId) : undefined;
    const existing = this.nodes.get(record.id);
    if (existing && existing.record.wireguardKey !== record.wireguardKey)
      this.byWireguardKey.delete(existing.record.wireguardKey);
    this.byWireguardKey.set(record.wireguardKey, record.id);
    if (existing) {
      // Peers that saw the old record must get the new one.
      const sawIt = this.network.peersOf(record.id);
      if (existing.update(record, owner).policyChanged) {
        this.touchPolicy(this.network.upsertNode(existing.policyNode()));
      }
      this.announce(record.id, sawIt);
      this.announce(record.id, [record.id]);
    } else {
      const live = new LiveNode(record, owner);
      this.nodes.set(record.id, live);
      const affected = this.network.upsertNode(live.policyNode());
      affected.add(record.id);
      this.touchPolicy(affected);
    }
  }

  removeNode(id: string, reason: RemovalReason): void {
    if (!this.nodes.has(id)) return;
    const affected = this.network.removeNode(id);
    this.byWireguardKey.delete(this.nodes.get(id)!.record.wireguardKey);
    this.nodes.delete(id);
    this.retained.delete(id);
    const session = this.sessions.get(id);
    if (session) {
      this.sessions.delete(id);
      const code = reason === 'expired' ? CloseCode.nodeExpired : CloseCode.nodeDeleted;
      session.send(jsonText<Goodbye>({ type: 'goodbye', code: `node.${reason}`, message: goodbyeText(reason) }));
      session.close(code, `node ${reason}`);
    }
    affected.delete(id);
    this.touchPolicy(affected);
  }

  setPolicy(policy: Policy, starter: boolean): void {
    // Sessions compare each view with what they sent, so the cheap superset is enough.
    this.touchPolicy(this.network.setPolicy(policy, { exact: false }));
    const warning = starter ? STARTER_WARNING : undefined;
    if (warning !== this.warning) {
      this.warning = warning;
      for (const s of this.sessions.values()) s.markViewDirty();
    }
  }

  /** The server's UDP port saw this node at a new public address (or forgot it). */
  setObservedEndpoint(id: string, endpoint: string | undefined): void {
    const live = this.nodes.get(id);
    if (!live || live.observedEndpoint === endpoint) return;
    live.observedEndpoint = endpoint;
    live.revision++;
    this.announce(id, this.network.peersOf(id));
    this.announce(id, [id]);
  }

  /** A router reported the health of its routes on its stream; replaces its previous report. */
  reportRouteHealth(id: string, report: RouteHealthReport): void {
    const live = this.nodes.get(id);
    if (live) live.routeHealth = report;
  }

  /** Takes nodes whose key expired out of every map; returns their ids. */
  expireDue(): string[] {
    const due = [...this.nodes.values()].filter((n) => this.isExpired(n.record)).map((n) => n.id);
    for (const id of due) this.removeNode(id, 'expired');
    return due;
  }

  /** Drops pending sends (server shutdown; the streams are closing). */
  stop(): void {
    this.flusher.stop();
  }

  // ---- sessions ----
  /** Opens a map stream; resumes from `since` when this node's sent state is still known. */
  attach(nodeId: string, socket: MapSocket, since: number | undefined): MapSession | undefined {
    const live = this.nodes.get(nodeId);
    if (!live) return undefined;
    // A reconnect can arrive before the old socket is noticed dead; its state is the one to resume.
    const previous = this.sessions.get(nodeId);
    previous?.close(CloseCode.replaced, 'replaced by a newer connection');
    const kept = previous ? { state: previous.sent, until: Infinity } : this.retained.get(nodeId);
    this.retained.delete(nodeId);
    const resumed =
      kept !== undefined && since !== undefined && kept.state.version === since && kept.until > this.options.now();
    const state = resumed ? kept.state : new SentState(Math.max(this.versionBase, kept?.state.version ?? 0));
    const session = new MapSession(
      nodeId,
      socket,
      state,
      this,
      this.flusher,
      this.options.onSent ?? (() => {}),
      resumed,
    );
    this.sessions.set(nodeId, session);
    this.setOnline(live, true);
    session.start();
    return session;
  }

  detach(session: MapSession): void {
    if (this.sessions.get(session.nodeId) !== session) return;
    this.sessions.delete(session.nodeId);
    this.retained.set(session.nodeId, {
      state: session.sent,
      until: this.options.now() + (this.options.resumeWindowMs ?? 10 * 60_000),
    });
    this.sweepRetained();
    const live = this.nodes.get(session.nodeId);
    if (live) this.setOnline(live, false);
  }

  private setOnline(live: LiveNode, online: boolean): void {
    if (live.online === online) return;
    live.online = online;
    live.revision++;
    this.announce(live.id, this.network.peersOf(live.id));
  }

  /** These nodes' peers or filters may have changed under the policy. */
  private touchPolicy(ids: Iterable<string>): void {
    for (const id of ids) this.sessions.get(id)?.markViewDirty();
  }

  /** Node `changed` has a new record; these nodes hold it and must get it. */
  private announce(changed: string, to: Iterable<string>): void {
    for (const id of to) this.sessions.get(id)?.markPeerDirty(changed);
  }

  private isExpired(record: NodeRecord): boolean {
    return record.expiresAt !== undefined && record.expiresAt <= this.options.now();
  }

  private sweepRetained(): void {
    const now = this.options.now();
    for (const [id, r] of this.retained) if (r.until <= now) this.retained.delete(id);
  }
}

const STARTER_WARNING =
  'this server runs the allow-all starter policy: every node can reach every other node on every port; set a policy to restrict access';

function goodbyeText(reason: RemovalReason): string {
  if (reason === 'expired') return 'this node key expired; sign in again to renew it';
  if (reason === 'ephemeral') return 'this ephemeral node was removed after it disconnected';
  return 'this node was deleted by an administrator';
}
