import type { Logger } from 'pino';
import type { Credential } from '../../protocol/join.ts';
import type { WorkloadSpec } from '../identity/workload-spec.ts';
import type { MeshDns } from '../dns/mesh-dns.ts';
import type { ExitDns } from '../exit-node/exit-dns.ts';
import { checkExitNodeRequest } from '../exit-node/request.ts';
import { exitNodeStatus } from '../exit-node/status.ts';
import type { RelayTransportMode } from '../paths/relay-transport-selector.ts';
import type { MapState } from '../control/map-state.ts';
import type { PathTrial } from '../../protocol/map.ts';
import type { NodeAuditReport } from '../../protocol/node-audit.ts';
import type { TrustBundle } from '../../protocol/pki.ts';
import { isoTime } from '../../protocol/time.ts';
import { CertificateKeeper } from '../certs/certificate-keeper.ts';
import { ControlLink } from './control-link.ts';
import { localEndpoints } from './endpoints.ts';
import type { Engine } from './engine.ts';
import { WireGuardError } from '../wireguard/errors.ts';
import { AgentError } from './errors.ts';
import type {
  AgentState,
  CertificateAnswer,
  LoginRequest,
  LoginStarted,
  LoginWaitResponse,
  StatusResponse,
  UpRequest,
  WhoisResponse,
} from './local-api/messages.ts';
import { MapApplier } from './map-applier.ts';
import { Membership, requestedServers } from './membership.ts';
import type { ServerTarget } from '../control/server-list.ts';
import { PersonSignIn } from './person-sign-in.ts';
import { StateStore } from './state-store.ts';
import { pathSummary, statusView } from './status-view.ts';
import { whois } from './whois.ts';
import { type JoinOptions, WorkloadMembership } from './workload-membership.ts';
import { RouteHealthMonitor } from '../router/route-health-monitor.ts';

/**
 * The agent's composition root. Three narrow layers, wired only here:
 *  - control (client/control): the map stream hands every applied map to the map applier;
 *  - reconfig (reconfig.ts): the map becomes an EngineConfig, with no I/O;
 *  - engine (engine.ts): WireGuard, addresses and routes, and the filter are made to match.
 * Control and engine never import each other; map-applier.ts runs the last two for each map.
 * The state directory makes a restarted agent the same node: it applies the last map at once
 * (so tunnels and rules are in force before the server answers, or if it never does), then
 * resumes the stream from that map's version (only then: see savedMapInForce). A stopping
 * agent leaves the data plane running (wireguard-go outlives it and is adopted by the next
 * one). README.md in this folder has the whole picture.
 *
 * The constructor builds each part once, from the parts built before it. What a part reports
 * upwards (a map arrived, the server said goodbye, the node moved to another server) goes to a
 * method of the Agent, never to a part built after it.
 */
interface AgentOptions {
  stateDir: string;
  iface: string;
  listenPort: number;
  meshRanges: readonly string[];
  /** Servers (one server's replicas) for `up` when neither the request nor the state names one. */
  serverUrls?: readonly string[];
  engine: Engine;
  logger: Logger;
  /** How often endpoint candidates are re-read and reported (the server ignores repeats). */
  endpointRefreshMs?: number;
  /** How WireGuard reaches the relay (client/paths/relay-transport.ts); default auto. */
  relayTransport?: RelayTransportMode;
  /** Mesh names (client/dns); absent: DNS is left alone. */
  dns?: MeshDns;
  /** The resolver an exit node serves on its mesh addresses (client/exit-node); absent: none. */
  exitDns?: ExitDns;
  /** The wall clock (ms since the epoch), as the server takes it; default Date.now. */
  now?: () => number;
}

const DEFAULT_UP_WAIT_MS = 15_000;
/** Longest the map stream waits for the saved map's apply (savedMapInForce): a stuck apply must not keep the node off the server. */
const SAVED_MAP_HOLD_MS = 10_000;

/** The replica in use, as status shows it: its URL, and the address when its name has several. */
const replicaName = (t: ServerTarget): string => (t.address ? `${t.url} at ${t.address}` : t.url);

export class Agent {
  private readonly now: () => number;
  private readonly store: StateStore;
  private readonly membership: Membership;
  private readonly link: ControlLink;
  private readonly maps: MapApplier;
  private readonly workload: WorkloadMembership;
  private readonly signIn: PersonSignIn;
  private readonly routeHealth: RouteHealthMonitor;
  private readonly certificates: CertificateKeeper;
  private state: AgentState = 'needs-login';
  private lastError: string | undefined;
  private applyBlocked = false;

  constructor(private readonly options: AgentOptions) {
    const { engine, logger: log, iface, listenPort, meshRanges, serverUrls } = options;
    this.now = options.now ?? Date.now;

    // Who this machine is: keys and node record in the state directory.
    this.store = new StateStore(options.stateDir);
    this.membership = new Membership({
      store: this.store,
      engine,
      serverUrls,
      now: this.now,
      running: () => this.state === 'running',
      leave: () => this.leaveServer(),
      dns: () => this.link.map?.dns ?? this.store.readMap()?.dns,
    });

    // Control: one map stream to the server at a time.
    this.link = new ControlLink({
      onMap: (state) => this.onStreamedMap(state),
      onGoodbye: (code, message) => void this.onGoodbye(code, message),
      onPathTrial: (trial) => this.onPathTrial(trial),
      endpoints: () => this.endpoints(),
      endpointRefreshMs: options.endpointRefreshMs ?? 30_000,
      paths: async () => pathSummary((await this.status()).peers),
      log,
    });

    // Each map through reconfig into the engine, with the relay and the direct paths.
    this.maps = new MapApplier({
      engine,
      store: this.store,
      link: this.link,
      serverUrl: () => this.membership.servers()?.current.url,
      server: () => this.membership.control(),
      wireguardKey: () => this.membership.wireguardKey(),
      routerSettings: () => this.membership.routerSettings(),
      acceptSettings: () => this.membership.acceptSettings(),
      serve: () => this.membership.node?.serve ?? [],
      noteSelf: (self) => this.membership.noteSelf(self),
      applied: () => this.onApplied(),
      failed: (err) => this.onApplyFailed(err),
      iface,
      listenPort,
      meshRanges,
      relayTransport: options.relayTransport ?? 'auto',
      ...(options.dns && { dns: options.dns }),
      ...(options.exitDns && { exitDns: options.exitDns }),
      exitPreference: () => {
        const node = this.membership.node;
        return node?.exitNode === undefined
          ? undefined
          : { wanted: node.exitNode, allowLan: node.exitNodeAllowLanAccess === true };
      },
      log,
    });

    // The two ways a node proves itself again: a workload's tokens, a person's sign-in.
    this.workload = new WorkloadMembership({
      node: () => this.membership.node,
      member: () => this.link.open && this.state !== 'needs-login',
      up: (req) => this.up(req),
      join: (urls, credential, spec) => this.join({ serverUrls: urls }, credential, spec),
      reregister: (node, credential) => this.membership.reregister(node, credential),
      noteError: (message) => (this.lastError = message),
      serverUrls,
      now: this.now,
      log,
    });
    // A router's probes of what it routes, reported to the server on the map stream.
    this.routeHealth = new RouteHealthMonitor({
      probes: () => this.membership.routeProbes(),
      isRouter: () => (this.membership.node?.self?.advertisedRoutes.length ?? 0) > 0,
      tunnelUp: () => engine.running,
      report: (report) => this.link.reportRouteHealth(report),
    });
    this.signIn = new PersonSignIn({
      useServer: (requested) => this.membership.useServer(requested),
      node: () => this.membership.node,
      machineKey: () => this.membership.machineKey(),
      up: (req) => this.up(req),
    });

    // Certificates from the mesh CA for local services, renewed before they end.
    this.certificates = new CertificateKeeper({ server: () => this.membership.control(), logger: log, now: this.now });
  }

  private get log(): Logger {
    return this.options.logger;
  }

  /** Loads the state directory; a node that was up comes back up, from its saved map first. */
  async start(): Promise<void> {
    this.store.init();
    this.membership.load();
    this.certificates.start();
    const node = this.membership.node;
    // A workload registers with its current token at once (the saved one may be near expiry).
    if (node?.workload && node.wantRunning) this.workload.resume(node.workload);
    if (!node?.self) return this.setState('needs-login');
    if (!node.wantRunning) return this.setState('stopped');
    const saved = this.store.readMap();
    this.setState('starting');
    // A kill switch an earlier agent left stays in force; the saved map's apply replaces it in one transaction.
    const kill = await this.options.engine.killSwitchInForce().catch(() => undefined);
    if (kill) this.log.info({ exitNode: kill }, `adopting the kill switch for exit node ${kill}`);
    if (saved) this.maps.submit({ ...saved, fromServer: false });
    this.link.connect(this.membership.servers()!, this.membership.machineKey(), saved, saved && this.savedMapInForce());
  }

  /**
   * Resolves once the saved map just submitted is in force (or its apply failed, or it took longer
   * than SAVED_MAP_HOLD_MS), for the map stream to open only then. The server shows a node online
   * as soon as its stream opens, and peers act on that at once: each renews its session with a
   * node that is back (map-applier.ts), with a single handshake. A handshake that reaches our
   * WireGuard before its peers are configured is dropped, and the peer's WireGuard tries again
   * only 5 s later; we cannot start one ourselves towards a peer behind a NAT (its endpoints
   * are its own addresses; we learn its mapping from its packets). Without the wait, the first
   * connections through a restarted exit node timed out while status said it was online.
   */
  private async savedMapInForce(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, SAVED_MAP_HOLD_MS)));
    await Promise.race([this.maps.idle(), cap]);
    clearTimeout(timer);
  }

  /** Joins (with a credential) or reconnects (without); resolves once the first map is applied. */
  async up(req: UpRequest): Promise<StatusResponse> {
    const serverUrls = await this.membership.useServer(requestedServers(req));
    checkExitNodeRequest(req, this.link.map?.peers.values() ?? [], this.membership.node);
    const workload = req.workload && (await this.workload.read(req.workload));
    const credential = workload ? workload.credential : req.credential;
    // A new credential replaces whatever kept the old one fresh.
    if (credential) this.workload.stop();
    await this.join({ ...req, serverUrls }, credential, workload?.spec);
    // What keeps the credential fresh starts with the node it registered: status shows it as
    // soon as the node runs.
    const node = this.membership.node;
    if (workload) this.workload.renewFrom(workload, node!.self!);
    else if (!credential && node?.workload && !this.workload.renewing) this.workload.resume(node.workload);
    // Settings only this machine knows (router, accepted routes, exit node) take effect without
    // a new map, and are in force (the kill switch above all) before `up` answers.
    await this.maps.reapply();
    return this.status();
  }

  /** Joins at the server, then (re)opens the stream and waits for a map from it to be applied. */
  private async join(
    req: UpRequest & { serverUrls: string[] },
    credential: Credential | undefined,
    workload: WorkloadSpec | undefined,
  ): Promise<void> {
    await this.membership.join(req, credential, workload);
    const before = this.maps.fromServer;
    if (!this.link.open || credential) {
      this.link.disconnect();
      if (this.state !== 'running') this.setState('starting');
      const saved = this.store.readMap();
      // Back up after `down`: the last map is in force at once (and before the stream opens), as after a restart.
      const resumed = saved !== undefined && this.state !== 'running';
      if (resumed) this.maps.submit({ ...saved, fromServer: false });
      this.link.connect(
        this.membership.servers()!,
        this.membership.machineKey(),
        saved,
        resumed ? this.savedMapInForce() : undefined,
      );
    }
    await this.waitFor(
      () => this.maps.fromServer > before || (this.state === 'running' && !credential && this.link.connected),
      req.waitMs ?? DEFAULT_UP_WAIT_MS,
    );
  }

  /** `trellis agent --token-file ...`: see WorkloadMembership.joinOnStart. */
  joinOnStart(spec: WorkloadSpec, options: JoinOptions = {}): Promise<void> {
    return this.workload.joinOnStart(spec, options);
  }

  /** A person's sign-in; the CLI follows with waitLogin. See PersonSignIn. */
  login(req: LoginRequest): Promise<LoginStarted> {
    return this.signIn.start(req);
  }

  waitLogin(id: string, waitMs: number): Promise<LoginWaitResponse> {
    return this.signIn.wait(id, waitMs);
  }

  cancelLogin(id?: string): boolean {
    return this.signIn.cancel(id);
  }

  /** Leaves the mesh for now: everything the agent created goes; the identity stays. */
  async down(): Promise<StatusResponse> {
    this.workload.stop();
    this.routeHealth.stop();
    this.link.disconnect();
    await this.maps.stop();
    await this.options.engine.teardown({ keepGuard: false });
    if (this.membership.stopRunning()) this.setState('stopped');
    return this.status();
  }

  /**
   * The agent process is stopping (a restart, an upgrade): the data plane stays as it is, so
   * tunnels and rules keep working until the next agent adopts them. `down` is what removes them.
   */
  async stop(): Promise<void> {
    this.certificates.stop();
    this.workload.close();
    this.routeHealth.stop();
    this.signIn.cancel();
    this.link.disconnect();
    await this.maps.stop();
  }

  async status(): Promise<StatusResponse> {
    const map = this.link.map;
    const device = await this.options.engine.state().catch(() => undefined);
    const node = this.membership.node;
    const self = map?.self ?? node?.self;
    const renewal = this.workload.status();
    const relayEndpoint = this.maps.relayEndpoint;
    const servers = this.membership.servers();
    const exit = exitNodeStatus({
      ...(node?.exitNode !== undefined && { wanted: node.exitNode }),
      allowLan: node?.exitNodeAllowLanAccess === true,
      ...(this.maps.exitChoice && { choice: this.maps.exitChoice }),
      killSwitch: await this.options.engine.killSwitchInForce().catch(() => undefined),
      peers: map?.peers.values() ?? [],
    });
    return statusView({
      ...exit,
      state: this.state,
      connected: this.link.connected,
      iface: this.options.iface,
      listenPort: this.options.listenPort,
      relayTransport: this.maps.relayTransport,
      ...(this.options.dns?.status && { dns: this.options.dns.status }),
      mapVersion: this.maps.version,
      ...(map?.serverProtocolVersion !== undefined && { serverProtocolVersion: map.serverProtocolVersion }),
      peers: map?.peers.values() ?? [],
      ...(device && { device }),
      ...(self && { self }),
      ...(node?.serverUrl && { serverUrl: node.serverUrl }),
      ...(node?.serverUrls && { serverUrls: node.serverUrls }),
      ...(servers && { connectedTo: replicaName(servers.current) }),
      ...(map?.policyWarning && { policyWarning: map.policyWarning }),
      ...(this.lastError && { lastError: this.lastError }),
      ...(node?.signedInAt !== undefined && { signedInAt: node.signedInAt }),
      ...(renewal && { workload: renewal }),
      ...(relayEndpoint && { relayEndpoint }),
      paths: (id) => this.maps.path(id),
      offeredRoutes: this.maps.offered,
      ...(map?.dns?.services && { meshServices: map.dns.services }),
      served: this.membership.served(),
      now: this.now(),
    });
  }

  whois(ip: string): WhoisResponse {
    const map = this.link.map;
    return whois(ip, map?.self ?? this.membership.node?.self, map?.peers.values() ?? [], map?.packetFilter ?? []);
  }

  /**
   * A certificate from the mesh CA for `names`, by default this node's own mesh name; the agent
   * keeps it renewed, so a service asks again after `renewAfter` (server/pki/README.md).
   */
  async certificate(names?: readonly string[]): Promise<CertificateAnswer> {
    const kept = await this.certificates.get(names ?? [this.ownMeshName()]);
    return {
      names: kept.names,
      certificate: kept.certificate,
      key: kept.key,
      authorities: kept.authorities,
      notBefore: isoTime(kept.notBefore),
      notAfter: isoTime(kept.notAfter),
      renewAfter: isoTime(kept.renewAfter),
    };
  }

  authorities(): Promise<TrustBundle> {
    return this.certificates.authorities();
  }

  /** `<name>.<domain>` of this node, as the map names it. */
  private ownMeshName(): string {
    const self = this.link.map?.self ?? this.membership.node?.self;
    const domain = this.link.map?.dns?.domain ?? this.store.readMap()?.dns?.domain;
    if (!self || !domain) throw new AgentError('agent.not_logged_in', 'this node has no mesh name yet: run trellis up');
    return `${self.name}.${domain}`;
  }

  /** Passes a local service's audit events to the server, signed as this node's report. */
  async reportAudit(report: NodeAuditReport): Promise<void> {
    const control = this.membership.control();
    if (!control)
      throw new AgentError('agent.not_logged_in', 'this node has not joined a mesh: no server to report to');
    await control.request('POST', '/api/v1/machine/audit', report);
  }

  private onStreamedMap(state: MapState): void {
    this.maps.submitStreamed(state);
  }

  private onPathTrial(trial: PathTrial): void {
    this.maps.trial(trial);
  }

  private onApplied(): void {
    this.lastError = undefined;
    this.applyBlocked = false;
    this.setState('running');
    this.routeHealth.start();
    // A replica's first map names its services' addresses: it advertises them now.
    void this.membership.advertiseServices().catch((err: unknown) => {
      this.log.warn({ err }, "the served services' addresses were not advertised");
      this.lastError = `advertising the served services failed: ${(err as Error).message}`;
    });
  }

  /**
   * A failed apply is retried. One that cannot pass by itself (another network namespace's
   * device holds our interface name) also ends a waiting `up` at once, with the reason.
   */
  private onApplyFailed(err: unknown): void {
    this.fail('applying the network map', err);
    this.applyBlocked = err instanceof WireGuardError && err.code === 'wireguard.interface_in_use';
  }

  /** This machine's endpoint candidates; the mesh's own addresses are never among them. */
  private endpoints(): string[] {
    return localEndpoints(this.options.listenPort, this.options.iface, this.maps.meshRanges);
  }

  /** Joining another server: all that belongs to the old node stops, and none of its maps counts. */
  private async leaveServer(): Promise<void> {
    this.certificates.clear();
    this.workload.stop();
    this.link.disconnect();
    await this.options.engine.teardown({ keepGuard: false });
    this.maps.forget();
  }

  private async onGoodbye(code: string, message: string): Promise<void> {
    this.log.warn({ code }, `the server ended this node's membership: ${message}`);
    this.lastError = `${code}: ${message}`;
    this.routeHealth.stop();
    this.link.disconnect();
    await this.maps.stop();
    // An apply that was running fails now (its node is gone); the goodbye is what status must say.
    this.lastError = `${code}: ${message}`;
    // Fail closed: a node that is no longer a member keeps no peers and no open ports.
    await this.options.engine
      .teardown({ keepGuard: true })
      .catch((err: unknown) => this.fail('tearing down after goodbye', err));
    this.store.forget({ keys: false });
    this.membership.dropSelf();
    this.maps.forget();
    this.setState('needs-login');
  }

  private setState(state: AgentState): void {
    if (state !== this.state) this.log.info({ state }, `agent ${state}`);
    this.state = state;
  }

  private fail(what: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.lastError = `${what}: ${message}`;
    this.log.error({ err, code: (err as { code?: string }).code }, `${what} failed: ${message}`);
  }

  /** Waits a duration, not until a time: measured on the monotonic clock, whatever `now` says. */
  private async waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!done() && !this.applyBlocked && performance.now() < deadline && this.state !== 'needs-login')
      await new Promise((r) => setTimeout(r, 5));
    if (this.state === 'needs-login' && this.lastError) {
      throw new AgentError('agent.join_failed', this.lastError);
    }
  }
}
