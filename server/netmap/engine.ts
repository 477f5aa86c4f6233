import { PolicyNetwork, toTopology, type MeshRanges, type Policy } from '../../policy/index.ts';
import type { PolicyTopology } from '../../protocol/policy-topology.ts';
import { jsonText, type JsonText } from '../../protocol/json-text.ts';
import { CloseCode, type DnsConfig, type Goodbye, type RelayConfig, type ServerMessage } from '../../protocol/map.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { DEFAULT_ROUTE_PRIORITY, type RouteHealthReport } from '../../protocol/route-health.ts';
import type { PathSummary } from '../../protocol/path-report.ts';
import type { PrimaryChange, RouteDecision, RouteTable, RouterInfo } from '../routes/route-table.ts';
import { RouteElections } from '../routes/route-elections.ts';
import type { NodeRecord, UserRecord } from '../store/records.ts';
import { DEFAULT_VARIANT, LiveNode, type PeerVariant } from './live-node.ts';
import { MapSession, type MapSocket, type MapSource, type StaticParts } from './session.ts';
import { SentState, versionStride } from './sent-state.ts';
import { Flusher } from './flusher.ts';
import { AppliedSeq } from './applied-seq.ts';
import { movesViews, type JournalEntry } from './change-journal.ts';
import { resumeTouches } from './resume-touches.ts';
import { SharedFilters, type SharedFilter } from './filter-json.ts';
import { RouterViews, sameList } from './router-views.ts';

interface NetmapOptions {
  /** The mesh's address ranges: what `*` means as a source. */
  mesh: MeshRanges;
  dns: DnsConfig;
  relay: RelayConfig;
  now: () => number;
  onSent?: (kind: 'full' | 'delta', bytes: number) => void;
  /** How long a disconnected node's sent state is kept for a resume. */
  resumeWindowMs?: number;
  /**
   * The change log's head read before the engine was loaded (server/replication/): an agent
   * whose map reflects a later seq may resume here though another replica served it. Absent:
   * only the replica that served an agent resumes it.
   */
  changeSeq?: number;
  /** How long changes gather before they are sent, so a burst becomes one message. */
  batchMs?: number;
  /** A recovered router with a higher priority takes its prefixes back (default: off, the primary stays). */
  preemptRoutes?: boolean;
  /** With preemptRoutes: how long a recovered router must stay eligible before it takes a prefix back. */
  preemptHoldDownMs?: number;
}

type RemovalReason = 'deleted' | 'expired' | 'ephemeral';

/** A node's map stream held by another replica, as its presence row says (server/replication/). */
export interface RemotePresence {
  replicaId: string;
  /** Where that replica's UDP port saw the node. */
  observedEndpoint?: string;
  /** The router's last route-health report on that stream. */
  routeHealth?: RouteHealthReport;
  /** The node's last path summary on that stream. */
  paths?: PathSummary;
}

/** Something happened to a node, as the console's live view reports it. */
export interface NodeEvent {
  type: 'node.joined' | 'node.updated' | 'node.removed' | 'node.online' | 'node.offline' | 'node.paths';
  nodeId: string;
  name: string;
  /** The owner, for scoping: a member hears only of their own machines. */
  userId?: string;
  /** Why a node was removed: deleted, expired, ephemeral. */
  reason?: string;
  /** node.paths: its path counts now. */
  paths?: PathSummary;
}

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
  /** Nodes whose stream another replica holds: online here too, with what that replica observed. */
  private readonly remote = new Map<string, RemotePresence>();
  private readonly retained = new Map<string, { state: SentState; until: number }>();
  /** The last seq the maps reflect, and the rows applied lately: what a resume from elsewhere looks at. */
  private readonly applied: AppliedSeq;
  /** When nodes left the maps by key expiry, which no change-log row says (each replica expires on its own). */
  private readonly expiredAt = new Map<string, number>();
  /** When a node's own identity (tags, owner) changed: its whole view may have moved (resume-touches.ts). */
  private readonly identityChangedAt = new Map<string, number>();
  /**
   * When what this replica's own stream of a node shows (online, the endpoint its relay saw) last
   * changed: the presence row that tells the other replicas may still be on its way.
   */
  private readonly localChangeAt = new Map<string, number>();
  private readonly filters = new SharedFilters();
  private readonly flusher: Flusher;
  private network: PolicyNetwork;
  private warning: string | undefined;
  private readonly staticParts: StaticParts;
  /** Versions start at boot time so they keep growing across restarts. */
  private readonly versionBase: number;
  /** Nodes that advertise routes: the candidates of the route elections. */
  private readonly routers = new Set<string>();
  private readonly elections: RouteElections;
  private readonly routerViews: RouterViews;
  private readonly primaryListeners: Array<(change: PrimaryChange) => void> = [];
  private readonly electionListeners: Array<() => void> = [];
  private readonly nodeListeners: Array<(event: NodeEvent) => void> = [];
  private readonly streamListeners: Array<(nodeId: string) => void> = [];

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
    this.applied = new AppliedSeq(options.changeSeq, this.resumeWindowMs, options.now, (seq, changes) => {
      // A session that sent nothing for such a change (it moved nothing here, or its delta went
      // out before the seq was known) would otherwise name an older seq for ever: a full map.
      if (changes.some((c) => movesViews(c.kind))) for (const s of this.sessions.values()) s.noteSeq(seq);
    });
    this.flusher = new Flusher(options.batchMs ?? 10);
    this.elections = new RouteElections({
      preempt: options.preemptRoutes ?? false,
      holdDownMs: options.preemptHoldDownMs ?? 10_000,
      now: options.now,
      rerun: () => this.reelect(),
    });
    this.routerViews = new RouterViews({
      network: () => this.network,
      routes: this.routes,
      servicePrefixes: new Set(
        (options.dns.services ?? []).flatMap((s) => s.addresses.map((a) => `${a}/${a.includes(':') ? 128 : 32}`)),
      ),
    });
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
  variantOf(viewer: string, peer: LiveNode): PeerVariant {
    const exit = this.elections.isExitNode(peer.id) && this.network.mayUseExitNode(viewer, peer.id);
    const routes = this.routers.has(peer.id) ? this.routerViews.routesFor(viewer, peer) : undefined;
    if (!exit && !routes) return DEFAULT_VARIANT;
    return {
      key: `${exit ? 'exit' : ''}|${routes ? `routes:${routes.join(',')}` : ''}`,
      ...(exit && { exitRoutes: this.network.approvedRoutesOf(peer.id).exit }),
      ...(routes && { primaryRoutes: routes }),
    };
  }

  policyWarning(): string | undefined {
    return this.warning;
  }
  changeSeq(): number | undefined {
    return this.applied.current;
  }
  staticJson(): StaticParts {
    return this.staticParts;
  }

  // ---- reads ----
  /** Every advertised prefix and its primary (the admin view, the leader's decisions). */
  get routes(): RouteTable {
    return this.elections.table;
  }
  get nodeCount(): number {
    return this.nodes.size;
  }
  get connectedCount(): number {
    return this.sessions.size;
  }
  /** Calls `listener` after each change of a prefix's primary, once the maps that say so are queued. */
  onPrimaryChange(listener: (change: PrimaryChange) => void): void {
    this.primaryListeners.push(listener);
  }
  /** Calls `listener` after every run of the route elections (the leader stores their results). */
  onElection(listener: () => void): void {
    this.electionListeners.push(listener);
  }
  /** Calls `listener` after a node joins, changes, leaves, connects or disconnects (the console's live view). */
  onNodeEvent(listener: (event: NodeEvent) => void): void {
    this.nodeListeners.push(listener);
  }
  /**
   * Calls `listener` when what this replica's own stream of a node says changed: it opened or
   * closed, the relay saw the node elsewhere, the router reported its health (server/replication/
   * shares that with the other replicas).
   */
  onStreamPresence(listener: (nodeId: string) => void): void {
    this.streamListeners.push(listener);
  }
  /** Whether node `id` advertises routes (its stream's heartbeat is the router's). */
  isRouter(id: string): boolean {
    return this.routers.has(id);
  }
  isOnline(id: string): boolean {
    return this.nodes.get(id)?.online ?? false;
  }
  /** How an online node last said it reaches its peers; undefined when it has not (or is offline). */
  pathsOf(id: string): PathSummary | undefined {
    const live = this.nodes.get(id);
    return live?.online ? live.paths : undefined;
  }
  /** Whether this replica holds the node's map stream. */
  hasStream(id: string): boolean {
    return this.sessions.has(id);
  }
  /** The other replica holding the node's stream, when this one does not. */
  remoteHolderOf(id: string): string | undefined {
    return this.sessions.has(id) ? undefined : this.remote.get(id)?.replicaId;
  }
  nodeIds(): string[] {
    return [...this.nodes.keys()];
  }
  nodeIdsOwnedBy(userId: string): string[] {
    return [...this.nodes.values()].filter((n) => n.record.userId === userId).map((n) => n.id);
  }
  /** The nodes whose streams this replica holds. */
  streamIds(): string[] {
    return [...this.sessions.keys()];
  }
  queueDepths(): { pending: number; queuedBytes: number } {
    let queuedBytes = 0;
    for (const s of this.sessions.values()) queuedBytes += s.queuedBytes;
    return { pending: this.flusher.size, queuedBytes };
  }
  /** Every live node as the policy sees it, with the mesh ranges it is compiled with. */
  policyTopology(): PolicyTopology {
    return toTopology(this.network.nodes(), { mesh: this.options.mesh });
  }
  /**
   * The live nodes under another policy, sharing the live network's index (what the policy
   * questions are asked of): read it at once, before the live network changes again.
   */
  policyUnder(policy: Policy): PolicyNetwork {
    return this.network.withPolicy(policy);
  }
  /** Prefix -> the node id of its elected primary router. */
  primaries(): Map<string, string> {
    const primaries = new Map<string, string>();
    for (const n of this.nodes.values()) for (const p of n.primaryRoutes) primaries.set(p, n.id);
    return primaries;
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
    for (const n of live) if (n.record.advertisedRoutes.length > 0) this.routers.add(n.id);
    this.network.loadNodes(live.map((n) => n.policyNode()));
    this.reelect();
  }

  /** A batch of change-log rows was applied (server/replication/); `seq` is the last one. */
  noteApplied(changes: readonly JournalEntry[], seq: number): void {
    this.applied.applied(changes, seq);
  }

  /**
   * This replica wrote a change, logged at `seq`, and has applied it (the services call the
   * engine right after their commit): the deltas it causes may name it (applied-seq.ts).
   */
  noteOwnWrite(kind: string, id: string, seq: number): void {
    this.applied.ownWrite(kind, id, seq);
  }

  /**
   * Resolves when the maps reflect change `seq` (or after `timeoutMs`); undefined when they
   * already do. An agent's map may hold a change this replica has yet to read from the log.
   */
  appliedUpTo(seq: number, timeoutMs: number): Promise<void> | undefined {
    return this.applied.reached(seq, timeoutMs);
  }

  /** Everything was reloaded as of the log's `head`: no earlier map can be resumed from here. */
  forgetChanges(head: number): void {
    this.applied.reloaded(head);
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
    const wasRouter = this.routers.has(record.id);
    if (record.advertisedRoutes.length > 0) this.routers.add(record.id);
    else this.routers.delete(record.id);
    // A router's presence row is leased and a node's is not: its stream's row is written again.
    if (wasRouter !== this.routers.has(record.id) && this.sessions.has(record.id)) this.tellStream(record.id);
    if (existing) {
      // Peers that saw the old record must get the new one.
      const sawIt = this.network.peersOf(record.id);
      if (existing.update(record, owner).policyChanged) {
        this.identityChangedAt.set(record.id, this.options.now());
        this.touchPolicy(this.network.upsertNode(existing.policyNode()));
        // Its identity may have gained or lost the use of an exit node or a route it already saw.
        this.touchRouters([record.id]);
      }
      this.announce(record.id, sawIt);
      this.announce(record.id, [record.id]);
    } else {
      const live = new LiveNode(record, owner);
      // Its presence may have been read before the node itself (another replica holds its stream).
      const elsewhere = this.remote.get(record.id);
      if (elsewhere) {
        live.online = true;
        live.observedEndpoint = elsewhere.observedEndpoint;
        live.routeHealth = elsewhere.routeHealth;
        live.paths = elsewhere.paths;
      }
      this.nodes.set(record.id, live);
      const affected = this.network.upsertNode(live.policyNode());
      affected.add(record.id);
      this.touchPolicy(affected);
    }
    this.reelect();
    this.tell(existing ? 'node.updated' : 'node.joined', record);
  }

  removeNode(id: string, reason: RemovalReason): void {
    const gone = this.nodes.get(id)?.record;
    if (!gone) return;
    const affected = this.network.removeNode(id);
    this.byWireguardKey.delete(this.nodes.get(id)!.record.wireguardKey);
    this.nodes.delete(id);
    this.retained.delete(id);
    this.remote.delete(id);
    const session = this.sessions.get(id);
    if (session) {
      this.sessions.delete(id);
      const code = reason === 'expired' ? CloseCode.nodeExpired : CloseCode.nodeDeleted;
      session.send(jsonText<Goodbye>({ type: 'goodbye', code: `node.${reason}`, message: goodbyeText(reason) }));
      session.close(code, `node ${reason}`);
    }
    affected.delete(id);
    this.routers.delete(id);
    this.touchPolicy(affected);
    this.reelect();
    this.tell('node.removed', gone, reason);
  }

  setPolicy(policy: Policy, starter: boolean): void {
    // Sessions compare each view with what they sent, so the cheap superset is enough.
    this.touchPolicy(this.network.setPolicy(policy, { exact: false }));
    this.reelect();
    // Who may use which exit node, who gets which route, and which router a via grant picks,
    // follow the rules.
    this.touchRouters();
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
    if (this.sessions.has(id)) this.localChangeAt.set(id, this.options.now());
    this.announce(id, this.network.peersOf(id));
    this.announce(id, [id]);
    if (this.sessions.has(id)) this.tellStream(id);
  }

  /** A router reported the health of its routes on its stream; replaces its previous report. */
  reportRouteHealth(id: string, report: RouteHealthReport): void {
    const live = this.nodes.get(id);
    if (!live || !live.online) return;
    live.routeHealth = report;
    this.reelect();
    if (this.sessions.has(id)) this.tellStream(id);
  }

  /** A node reported how it reaches its peers; kept for the admin API and the other replicas. */
  reportPaths(id: string, paths: PathSummary): void {
    const live = this.nodes.get(id);
    if (!live || !live.online) return;
    const moved = !samePaths(live.paths, paths);
    live.paths = paths;
    if (this.sessions.has(id)) this.tellStream(id);
    if (moved) this.tell('node.paths', live.record, undefined, paths);
  }

  /**
   * Another replica holds (or no longer holds: undefined) this node's stream. The node is online
   * while any replica holds it; what this replica's own stream says wins over another's row.
   */
  setRemotePresence(id: string, presence: RemotePresence | undefined): void {
    const lapsed = this.leaseLapsedOn(id);
    if (presence) this.remote.set(id, presence);
    else this.remote.delete(id);
    const live = this.nodes.get(id);
    if (!live || this.sessions.has(id)) return;
    const health = presence?.routeHealth;
    const healthMoved = JSON.stringify(health) !== JSON.stringify(live.routeHealth);
    live.routeHealth = health;
    const pathsMoved = !samePaths(live.paths, presence?.paths);
    live.paths = presence?.paths;
    this.setObservedEndpoint(id, presence?.observedEndpoint);
    const onlineMoved = live.online !== (presence !== undefined);
    this.setOnline(live, presence !== undefined);
    // Going offline takes the counts with it (node.offline says so); new counts are their own event.
    if (pathsMoved && presence?.paths) this.tell('node.paths', live.record, undefined, presence.paths);
    // A router that moved to another replica has a fresh lease there.
    const leaseMoved = lapsed !== this.leaseLapsedOn(id);
    if ((healthMoved || leaseMoved) && !(onlineMoved && this.routers.has(id))) this.reelect();
  }

  /**
   * The routers whose presence lease lapsed, by node id, with the replica whose row it was
   * (server/routes/lease-watch.ts, on the leader); empty: none. Re-elects when that changed.
   */
  setLapsedLeases(lapsed: ReadonlyMap<string, string>): void {
    if (this.elections.setLapsedLeases(lapsed)) this.reelect();
  }

  /** The replica whose lease on this router's stream lapsed, while its row is the one this replica follows. */
  private leaseLapsedOn(id: string): string | undefined {
    return this.sessions.has(id) ? undefined : this.elections.lapsedOn(id, this.remote.get(id)?.replicaId);
  }

  /**
   * Serve these route decisions (the leader replica's, server/routes/shared-election.ts) instead
   * of electing; undefined: elect again, from them. Applied to the maps at once.
   */
  followRoutes(decisions: ReadonlyMap<string, RouteDecision> | undefined): void {
    this.routes.follow(decisions);
    this.reelect();
  }

  /** Takes nodes whose key expired out of every map; returns their ids. */
  expireDue(): string[] {
    const due = [...this.nodes.values()].filter((n) => this.isExpired(n.record)).map((n) => n.id);
    const now = this.options.now();
    for (const id of due) {
      this.removeNode(id, 'expired');
      this.expiredAt.set(id, now);
    }
    return due;
  }

  /** Drops pending sends (server shutdown; the streams are closing). */
  stop(): void {
    this.elections.stop();
    this.flusher.stop();
  }

  // ---- sessions ----
  /**
   * Opens a map stream; resumes from `since` when this node's sent state is still known, or,
   * when another replica served it, when the journal can tell what changed after `seq` (the
   * change-log position of the agent's map).
   */
  attach(nodeId: string, socket: MapSocket, since: number | undefined, seq?: number): MapSession | undefined {
    const live = this.nodes.get(nodeId);
    if (!live) return undefined;
    // A reconnect can arrive before the old socket is noticed dead; its state is the one to resume.
    const previous = this.sessions.get(nodeId);
    previous?.close(CloseCode.replaced, 'replaced by a newer connection');
    const kept = previous ? { state: previous.sent, until: Infinity } : this.retained.get(nodeId);
    this.retained.delete(nodeId);
    const now = this.options.now();
    const resumed = kept !== undefined && since !== undefined && kept.state.version === since && kept.until > now;
    const touched =
      resumed || since === undefined || seq === undefined
        ? undefined
        : resumeTouches(nodeId, this.applied.journal.touchedSince(seq), {
            localChangeAt: this.localChangeAt,
            expiredAt: this.expiredAt,
            identityChangedAt: this.identityChangedAt,
            now,
            windowMs: this.resumeWindowMs,
          });
    // Versions only grow for an agent, even one that moved here from another replica (whose
    // versions this one never saw): its full map comes after the version it asked to resume from,
    // and a resume delta from elsewhere follows that very version. Both jump a random stride, so
    // that a state kept by the replica it left (which may have sent into the closing socket)
    // never has the version by chance and takes it for its own (sent-state.ts versionStride).
    const start = touched ? since! : Math.max(this.versionBase, kept?.state.version ?? 0, since ?? 0) + versionStride();
    const state = resumed ? kept.state : new SentState(start);
    const session = new MapSession(
      nodeId,
      socket,
      state,
      this,
      this.flusher,
      this.options.onSent ?? (() => {}),
      resumed ? 'here' : touched ? { elsewhere: touched } : undefined,
    );
    this.localChangeAt.set(nodeId, now);
    const lapsed = this.leaseLapsedOn(nodeId);
    this.sessions.set(nodeId, session);
    this.setOnline(live, true);
    // A router whose lease lapsed on the replica it left is eligible again on its stream here.
    if (lapsed !== undefined) this.reelect();
    session.start();
    this.tellStream(nodeId);
    return session;
  }

  detach(session: MapSession): void {
    if (this.sessions.get(session.nodeId) !== session) return;
    this.sessions.delete(session.nodeId);
    this.localChangeAt.delete(session.nodeId);
    this.retained.set(session.nodeId, { state: session.sent, until: this.options.now() + this.resumeWindowMs });
    this.sweepRetained();
    const live = this.nodes.get(session.nodeId);
    if (live) {
      // Reported on that stream; a new one reports afresh, or another replica's row says.
      const elsewhere = this.remote.get(session.nodeId);
      live.routeHealth = elsewhere?.routeHealth;
      live.paths = elsewhere?.paths;
      this.setObservedEndpoint(live.id, elsewhere ? elsewhere.observedEndpoint : live.observedEndpoint);
      this.setOnline(live, elsewhere !== undefined);
    }
    this.tellStream(session.nodeId);
  }

  private setOnline(live: LiveNode, online: boolean): void {
    if (live.online === online) return;
    live.online = online;
    live.revision++;
    this.announce(live.id, this.network.peersOf(live.id));
    if (this.routers.has(live.id)) this.reelect();
    this.tell(online ? 'node.online' : 'node.offline', live.record);
  }

  private tellStream(nodeId: string): void {
    for (const l of this.streamListeners) l(nodeId);
  }

  private tell(type: NodeEvent['type'], record: NodeRecord, reason?: string, paths?: PathSummary): void {
    const event: NodeEvent = { type, nodeId: record.id, name: record.name, userId: record.userId, reason, paths };
    for (const l of this.nodeListeners) l(event);
  }

  /**
   * Runs every prefix's election over the routers as they are now. A router whose primary
   * routes changed gets a new revision, so every node that holds it as a peer gets its new
   * allowed IPs in the next flush (10 ms); a router whose roles only changed hears it in `self`.
   */
  private reelect(): void {
    const infos: RouterInfo[] = [];
    for (const id of this.routers) {
      const live = this.nodes.get(id);
      if (!live) continue;
      const approved = this.network.approvedRoutesOf(id);
      const lapsedOn = this.leaseLapsedOn(id);
      infos.push({
        nodeId: id,
        name: live.record.name,
        tags: live.record.tags,
        priority: live.record.routePriority ?? DEFAULT_ROUTE_PRIORITY,
        createdAt: live.record.createdAt,
        online: live.online,
        ...(lapsedOn !== undefined && { leaseLapsedOn: lapsedOn }),
        advertised: live.record.advertisedRoutes,
        approved: new Set([...approved.subnet, ...approved.exit]),
        ...(live.routeHealth && { health: live.routeHealth }),
      });
    }
    this.routerViews.forget();
    const run = this.elections.run(infos, this.network.viaTagSets());
    for (const id of run.touched) {
      const live = this.nodes.get(id);
      if (!live) continue;
      const primary = this.routes.primaryRoutesOf(live.id);
      const states = this.routers.has(live.id) ? this.routes.statesOf(live.id) : undefined;
      const primaryMoved = !sameList(primary, live.primaryRoutes);
      const statesMoved = JSON.stringify(states) !== JSON.stringify(live.routeStates);
      if (!primaryMoved && !statesMoved) continue;
      live.primaryRoutes = primary;
      live.routeStates = states;
      live.revision++;
      this.announce(live.id, [live.id]);
      if (primaryMoved) this.announce(live.id, this.network.peersOf(live.id));
    }
    if (run.exitChanged.length > 0) this.touchRouters(undefined, run.exitChanged);
    if (this.routes.viaMoved || run.changes.length > 0) this.touchSteered();
    for (const c of run.changes) for (const listener of this.primaryListeners) listener(c);
    for (const listener of this.electionListeners) listener();
  }

  /**
   * These routers (default: all, exit nodes included) dirty in the sessions of `viewers`
   * (default: all their peers): what a viewer routes to a router (routesFor, exit routes)
   * follows the policy and the viewer's identity, and may change without the router's record.
   */
  private touchRouters(viewers?: readonly string[], routers: Iterable<string> = this.routers): void {
    for (const router of routers) {
      for (const v of viewers ?? this.network.peersOf(router)) this.sessions.get(v)?.markPeerDirty(router);
    }
  }

  /** Routers may be seen differently by the viewers a `via` grant steers: have them look again. */
  private touchSteered(): void {
    if (this.network.viaTagSets().length === 0) return;
    for (const router of this.routers) {
      for (const v of this.network.peersOf(router)) {
        if (this.sessions.has(v) && this.routerViews.isSteered(v)) this.sessions.get(v)!.markPeerDirty(router);
      }
    }
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

  private get resumeWindowMs(): number {
    return this.options.resumeWindowMs ?? 10 * 60_000;
  }

  private sweepRetained(): void {
    const now = this.options.now();
    for (const [id, r] of this.retained) if (r.until <= now) this.retained.delete(id);
    for (const [id, at] of this.expiredAt) if (at + this.resumeWindowMs <= now) this.expiredAt.delete(id);
    for (const [id, at] of this.identityChangedAt)
      if (at + this.resumeWindowMs <= now) this.identityChangedAt.delete(id);
  }
}

const STARTER_WARNING =
  'this server runs the allow-all starter policy: every node can reach every other node on every port; set a policy to restrict access';

function goodbyeText(reason: RemovalReason): string {
  if (reason === 'expired') return 'this node key expired; sign in again to renew it';
  if (reason === 'ephemeral') return 'this ephemeral node was removed after it disconnected';
  return 'this node was deleted by an administrator';
}

const samePaths = (a: PathSummary | undefined, b: PathSummary | undefined): boolean =>
  a === b || (!!a && !!b && a.direct === b.direct && a.relay === b.relay && a.none === b.none);
