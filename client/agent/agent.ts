import { hostname as osHostname, platform } from 'node:os';
import type { Logger } from 'pino';
import type { Credential } from '../../protocol/join.ts';
import type { FullMap } from '../../protocol/map.ts';
import type { SelfNode } from '../../protocol/node.ts';
import { openTokenSource } from '../identity/open-source.ts';
import type { TokenSource } from '../identity/token-source.ts';
import type { WorkloadSpec } from '../identity/workload-spec.ts';
import { Backoff } from '../control/backoff.ts';
import { ControlClient } from '../control/control-client.ts';
import { generateMachineKey } from '../control/machine-key.ts';
import { signInWithOidc } from '../control/oidc-login.ts';
import type { MapState } from '../control/map-state.ts';
import { MapStream } from '../control/map-stream.ts';
import { generateKeyPair, publicKeyOf } from '../wireguard/keys.ts';
import { ApplyLoop } from './apply-loop.ts';
import { localEndpoints } from './endpoints.ts';
import type { Engine } from './engine.ts';
import { AgentError } from './errors.ts';
import type { AgentState, LoginRequest, LoginStarted, LoginWaitResponse, StatusResponse, UpRequest, WhoisResponse } from './local-api/messages.ts';
import { reconfig } from './reconfig.ts';
import { type Keys, type NodeState, type SavedMap, StateStore } from './state-store.ts';
import { statusView } from './status-view.ts';
import { whois } from './whois.ts';
import { SignIns } from './sign-in.ts';
import { WorkloadRenewal } from './workload-renewal.ts';

/**
 * The agent's composition root. Three narrow layers, wired only here:
 *  - control (client/control): the map stream hands every applied map to `onMap`;
 *  - reconfig (reconfig.ts): the map becomes an EngineConfig, with no I/O;
 *  - engine (engine.ts): WireGuard, addresses and routes, and the filter are made to match.
 * Control and engine never import each other. The state directory makes a restarted agent the
 * same node: it applies the last map at once (so tunnels and rules are in force before the server
 * answers, or if it never does) and resumes the stream from that map's version. A stopping agent
 * leaves the data plane running (wireguard-go outlives it and is adopted by the next one).
 */
export interface AgentOptions {
  stateDir: string;
  iface: string;
  listenPort: number;
  meshRanges: readonly string[];
  /** Server for `up` when neither the request nor the state names one. */
  serverUrl?: string;
  engine: Engine;
  logger: Logger;
  /** How often endpoint candidates are re-read and reported (the server ignores repeats). */
  endpointRefreshMs?: number;
}

const DEFAULT_UP_WAIT_MS = 15_000;

/** A map to apply, and whether it came from the server (or from the state directory). */
type AppliedMap = SavedMap & { fromServer: boolean };

export class Agent {
  private readonly store: StateStore;
  private keys!: Keys;
  private node: NodeState | undefined;
  private stream: MapStream | undefined;
  private connected = false;
  private lastError: string | undefined;
  private appliedVersion = -1;
  private appliedFromServer = 0;
  private readonly loop: ApplyLoop<AppliedMap>;
  private endpointTimer: NodeJS.Timeout | undefined;
  private state: AgentState = 'needs-login';
  private renewal: WorkloadRenewal | undefined;
  private joining = false;
  private readonly signIns = new SignIns();

  constructor(private readonly options: AgentOptions) {
    this.store = new StateStore(options.stateDir);
    this.loop = new ApplyLoop((map) => this.applyMap(map), (err) => this.fail('applying the network map', err));
  }

  private get log(): Logger {
    return this.options.logger;
  }

  /** Loads the state directory; a node that was up comes back up, from its saved map first. */
  async start(): Promise<void> {
    this.store.init();
    this.keys = this.store.readKeys() ?? this.newKeys();
    this.node = this.store.readNode();
    // A workload registers with its current token at once (the saved one may be near expiry).
    if (this.node?.workload && this.node.wantRunning) this.startRenewal(this.node.workload, openTokenSource(this.node.workload.source));
    if (!this.node?.self) return this.setState('needs-login');
    if (!this.node.wantRunning) return this.setState('stopped');
    const saved = this.store.readMap();
    this.setState('starting');
    if (saved) this.loop.submit({ ...saved, fromServer: false });
    this.connect(saved);
  }

  /** Joins (with a credential) or reconnects (without); resolves once the first map is applied. */
  async up(req: UpRequest): Promise<StatusResponse> {
    const serverUrl = await this.useServer(req.serverUrl);
    let credential = req.credential;
    let workload: { spec: WorkloadSpec; source: TokenSource; token: string } | undefined;
    if (req.workload) {
      const source = openTokenSource(req.workload.source);
      const token = await source.read().catch((err: unknown) => {
        throw new AgentError('agent.bad_request', (err as Error).message, { cause: err });
      });
      workload = { spec: req.workload, source, token };
      credential = workloadCredential(req.workload, token);
    }
    // A new credential replaces whatever kept the old one fresh.
    if (credential) this.stopRenewal();
    await this.join({ ...req, serverUrl }, credential, workload?.spec);
    if (workload) this.startRenewal(workload.spec, workload.source, { token: workload.token, self: this.node!.self! });
    else if (!credential && this.node?.workload && !this.renewal) this.startRenewal(this.node.workload, openTokenSource(this.node.workload.source));
    return this.status();
  }

  /** The server for a request; joining another server than before starts afresh as a new node. */
  private async useServer(requested: string | undefined): Promise<string> {
    const serverUrl = requested ?? this.node?.serverUrl ?? this.options.serverUrl;
    if (!serverUrl) throw new AgentError('agent.bad_request', 'no server: pass --server URL (the node has not joined one before)');
    if (this.node && this.node.serverUrl !== serverUrl) {
      // Another mesh: this machine becomes a new node there; nothing of the old one is kept.
      this.stopRenewal();
      this.disconnect();
      await this.options.engine.teardown({ keepGuard: false });
      this.store.forget({ keys: true });
      this.keys = this.newKeys();
      this.node = undefined;
      this.appliedVersion = -1;
    }
    return serverUrl;
  }

  private async join(req: UpRequest & { serverUrl: string }, credential: Credential | undefined, workload: WorkloadSpec | undefined): Promise<void> {
    const { serverUrl } = req;
    const prefs: NodeState = {
      serverUrl,
      hostname: req.hostname ?? this.node?.hostname ?? osHostname(),
      advertiseRoutes: req.advertiseRoutes ?? this.node?.advertiseRoutes ?? [],
      advertiseTags: req.advertiseTags ?? this.node?.advertiseTags ?? [],
      wantRunning: true,
      ...(this.node?.self && { self: this.node.self }),
      // A new credential says anew how this node proves itself; a reconnect keeps how it did.
      ...((credential ? workload : this.node?.workload) && { workload: credential ? workload : this.node?.workload }),
      ...(!credential && this.node?.signedInAt !== undefined && { signedInAt: this.node.signedInAt }),
    };
    const control = new ControlClient(serverUrl, this.keys.machinePrivateKey);
    // Start wireguard-go while the server answers; a failure here shows again in the first apply.
    void this.options.engine.prepare().catch(() => undefined);
    if (credential) {
      const self = await this.register(control, prefs, credential).catch(async (err: unknown) => {
        // Nothing was running before: do not leave the device prepared above behind.
        if (this.state !== 'running') await this.options.engine.teardown({ keepGuard: true }).catch(() => undefined);
        throw new AgentError('agent.join_failed', `joining ${serverUrl} failed: ${(err as Error).message}`, { cause: err });
      });
      prefs.self = self;
      prefs.signedInAt = Date.now();
    } else if (!prefs.self) {
      throw new AgentError('agent.not_logged_in', 'this node has not joined yet: pass a credential (trellis up --auth-key KEY, --login or --token-file PATH)');
    } else if (req.hostname !== undefined || req.advertiseRoutes !== undefined) {
      prefs.self = await control.update({
        ...(req.hostname !== undefined && { hostname: req.hostname }),
        ...(req.advertiseRoutes !== undefined && { advertiseRoutes: req.advertiseRoutes }),
      });
    }
    this.node = prefs;
    this.store.writeNode(prefs);
    const before = this.appliedFromServer;
    if (!this.stream || credential) {
      this.disconnect();
      if (this.state !== 'running') this.setState('starting');
      const saved = this.store.readMap();
      // Back up after `down`: the last map is in force at once, as after a restart.
      if (saved && this.state !== 'running') this.loop.submit({ ...saved, fromServer: false });
      this.connect(saved);
    }
    await this.waitFor(() => this.appliedFromServer > before || (this.state === 'running' && !credential && this.connected), req.waitMs ?? DEFAULT_UP_WAIT_MS);
  }

  private register(control: ControlClient, prefs: NodeState, credential: Credential): Promise<SelfNode> {
    return control.register({
      wireguardKey: publicKeyOf(this.keys.wireguardPrivateKey),
      hostname: prefs.hostname,
      credential,
      ...(prefs.advertiseRoutes.length > 0 && { advertiseRoutes: prefs.advertiseRoutes }),
      ...(prefs.advertiseTags.length > 0 && { advertiseTags: prefs.advertiseTags }),
      os: platform(),
    });
  }

  // ---- workload credentials ----

  private startRenewal(spec: WorkloadSpec, source: TokenSource, registered?: { token: string; self: SelfNode }): void {
    this.stopRenewal();
    const renewal = new WorkloadRenewal({ source, logger: this.log, register: (token) => this.renewWorkload(spec, token) }, registered);
    this.renewal = renewal;
    renewal.start();
    // Not registered yet in this process (a restart): register with the current token now.
    if (!registered) void renewal.check();
  }

  private stopRenewal(): void {
    this.renewal?.stop();
    this.renewal = undefined;
  }

  /**
   * Registers a running workload node again with a fresh token: same machine key, so the same
   * node and addresses, and the map stream stays open. A node that lost its membership (its
   * token expired before a new one came, or the agent restarted) joins again in full.
   */
  private async renewWorkload(spec: WorkloadSpec, token: string): Promise<SelfNode> {
    const credential = workloadCredential(spec, token);
    const node = this.node;
    if (!node?.self || !this.stream || this.state === 'needs-login' || !node.wantRunning) {
      if (node && !node.wantRunning) throw new AgentError('agent.not_logged_in', 'the node is down (trellis down); not renewing');
      await this.join({ serverUrl: node?.serverUrl ?? this.options.serverUrl! }, credential, spec);
      return this.node!.self!;
    }
    const self = await this.register(new ControlClient(node.serverUrl, this.keys.machinePrivateKey), node, credential);
    this.node = { ...node, self, signedInAt: Date.now() };
    this.store.writeNode(this.node);
    return self;
  }

  /**
   * `trellis agent --token-file ...`: a sidecar or DaemonSet joins on start without a separate
   * `up`. A node that already joined this way just renews (start() did that); otherwise it joins,
   * retrying with backoff while the server is unreachable or the token not there yet (a projected
   * volume or spiffe-helper may write it after the agent starts). Resolves once joined or stopped.
   */
  async joinOnStart(spec: WorkloadSpec, options: { hostname?: string } = {}): Promise<void> {
    const node = this.node;
    if (node?.self && node.wantRunning && JSON.stringify(node.workload) === JSON.stringify(spec)) return;
    const backoff = new Backoff(1_000, 30_000);
    this.joining = true;
    try {
      while (this.joining) {
        try {
          await this.up({ workload: spec, ...(this.options.serverUrl && { serverUrl: this.options.serverUrl }), ...(options.hostname && { hostname: options.hostname }) });
          this.log.info({ node: this.node?.self?.name }, 'joined with the workload token');
          return;
        } catch (err) {
          const wait = backoff.next();
          this.lastError = `joining with the workload token: ${(err as Error).message}`;
          this.log.error({ code: (err as { code?: string }).code, retryInMs: wait }, `${this.lastError}; trying again`);
          await new Promise((r) => setTimeout(r, wait).unref());
        }
      }
    } finally {
      this.joining = false;
    }
  }

  // ---- a person's sign-in (OIDC) ----

  /**
   * Starts signing a person in through the server's identity provider, with this agent's machine
   * key, and answers with the prompt; the sign-in goes on here, and once complete the node joins
   * (or, when it was a member, renews: same node, same addresses). The CLI follows with waitLogin.
   */
  async login(req: LoginRequest): Promise<LoginStarted> {
    const serverUrl = await this.useServer(req.serverUrl);
    const hostname = req.hostname ?? this.node?.hostname ?? osHostname();
    const control = new ControlClient(serverUrl, this.keys.machinePrivateKey);
    const { provider, device, ...upFields } = req;
    try {
      return await this.signIns.start(async (present, signal) => {
        const credential = await signInWithOidc({
          control, hostname, present, signal, ...(provider && { provider }), ...(device && { device }),
        });
        return this.up({ ...upFields, serverUrl, hostname, credential });
      });
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError('agent.join_failed', `signing in at ${serverUrl} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async waitLogin(id: string, waitMs: number): Promise<LoginWaitResponse> {
    try {
      return await this.signIns.wait(id, waitMs);
    } catch (err) {
      if (err instanceof AgentError) throw err;
      const code = (err as { code?: string }).code;
      throw new AgentError('agent.join_failed', `the sign-in failed: ${(err as Error).message}${code ? ` [${code}]` : ''}`, { cause: err });
    }
  }

  cancelLogin(id?: string): boolean {
    return this.signIns.cancel(id);
  }

  /** Leaves the mesh for now: everything the agent created goes; the identity stays. */
  async down(): Promise<StatusResponse> {
    this.stopRenewal();
    this.disconnect();
    this.loop.stop();
    await this.loop.idle();
    await this.options.engine.teardown({ keepGuard: false });
    if (this.node) {
      this.node = { ...this.node, wantRunning: false };
      this.store.writeNode(this.node);
      this.setState('stopped');
    }
    return this.status();
  }

  /**
   * The agent process is stopping (a restart, an upgrade): the data plane stays as it is, so
   * tunnels and rules keep working until the next agent adopts them. `down` is what removes them.
   */
  async stop(): Promise<void> {
    this.joining = false;
    this.signIns.cancel();
    this.stopRenewal();
    this.disconnect();
    this.loop.stop();
    await this.loop.idle();
  }

  async status(): Promise<StatusResponse> {
    const map = this.stream?.state;
    const device = await this.options.engine.state().catch(() => undefined);
    const self = map?.self ?? this.node?.self;
    return statusView({
      state: this.state, connected: this.connected, iface: this.options.iface, listenPort: this.options.listenPort,
      mapVersion: this.appliedVersion, peers: map?.peers.values() ?? [],
      ...(device && { device }),
      ...(self && { self }),
      ...(this.node?.serverUrl && { serverUrl: this.node.serverUrl }),
      ...(map?.policyWarning && { policyWarning: map.policyWarning }),
      ...(this.lastError && { lastError: this.lastError }),
      ...(this.node?.signedInAt !== undefined && { signedInAt: this.node.signedInAt }),
      ...(this.renewal && { workload: this.renewal.status() }),
    });
  }

  whois(ip: string): WhoisResponse {
    const map = this.stream?.state;
    return whois(ip, map?.self ?? this.node?.self, map?.peers.values() ?? []);
  }

  // ---- control layer wiring ----

  private connect(saved: SavedMap | undefined): void {
    const node = this.node!;
    const control = new ControlClient(node.serverUrl, this.keys.machinePrivateKey);
    const stream = new MapStream(control, {
      onMap: (state) => this.onMap(state),
      onGoodbye: (code, message) => void this.onGoodbye(code, message),
      onConnection: (up) => {
        this.connected = up;
        if (up) this.reportEndpoints(stream);
        this.log.info({ connected: up, server: node.serverUrl }, up ? 'map stream open' : 'map stream closed; retrying with backoff');
      },
    });
    // Resume: the stream asks for what changed since the map we still hold.
    if (saved) stream.state.apply(asFullMap(saved));
    this.stream = stream;
    stream.start();
    clearInterval(this.endpointTimer);
    this.endpointTimer = setInterval(() => this.reportEndpoints(stream), this.options.endpointRefreshMs ?? 30_000);
    this.endpointTimer.unref();
  }

  private disconnect(): void {
    clearInterval(this.endpointTimer);
    this.stream?.stop();
    this.stream = undefined;
    this.connected = false;
  }

  private onMap(state: MapState): void {
    if (!state.self) return;
    this.loop.submit({ version: state.version, self: state.self, peers: [...state.peers.values()], packetFilter: state.packetFilter, fromServer: true });
  }

  private async onGoodbye(code: string, message: string): Promise<void> {
    this.log.warn({ code }, `the server ended this node's membership: ${message}`);
    this.lastError = `${code}: ${message}`;
    this.disconnect();
    this.loop.stop();
    await this.loop.idle();
    // Fail closed: a node that is no longer a member keeps no peers and no open ports.
    await this.options.engine.teardown({ keepGuard: true }).catch((err: unknown) => this.fail('tearing down after goodbye', err));
    this.store.forget({ keys: false });
    if (this.node) {
      // Preferences stay, so `trellis up --auth-key` can sign the same machine in again.
      const { self: _gone, ...rest } = this.node;
      this.node = rest;
      this.store.writeNode(rest);
    }
    this.appliedVersion = -1;
    this.setState('needs-login');
  }

  private reportEndpoints(stream: MapStream): void {
    stream.reportEndpoints(localEndpoints(this.options.listenPort, this.options.iface, this.options.meshRanges));
  }

  // ---- reconfig and engine ----

  private async applyMap(map: AppliedMap): Promise<void> {
    const config = reconfig(map, { privateKey: this.keys.wireguardPrivateKey, listenPort: this.options.listenPort });
    await this.options.engine.apply(config);
    const { fromServer, ...saved } = map;
    this.store.writeMap(saved);
    if (this.node && JSON.stringify(this.node.self) !== JSON.stringify(map.self)) {
      this.node = { ...this.node, self: map.self };
      this.store.writeNode(this.node);
    }
    this.appliedVersion = map.version;
    if (fromServer) this.appliedFromServer += 1;
    this.lastError = undefined;
    this.setState('running');
    this.log.debug({ version: map.version, peers: config.peers.length, rules: config.filter.length }, 'map applied');
  }

  // ---- helpers ----

  private newKeys(): Keys {
    const keys = { machinePrivateKey: generateMachineKey().privateKey, wireguardPrivateKey: generateKeyPair().privateKey };
    this.store.writeKeys(keys);
    return keys;
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

  private async waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done() && Date.now() < deadline && this.state !== 'needs-login') await new Promise((r) => setTimeout(r, 5));
    if (this.state === 'needs-login' && this.lastError) {
      throw new AgentError('agent.join_failed', this.lastError);
    }
  }
}

function workloadCredential(spec: WorkloadSpec, token: string): Credential {
  return spec.credential === 'kubernetes'
    ? { type: 'kubernetes', token, ...(spec.cluster && { cluster: spec.cluster }) }
    : { type: 'spiffe-jwt', token };
}

/** A saved map as the stream's MapState takes it (DNS and relay are not used by the engine yet). */
function asFullMap(saved: SavedMap): FullMap {
  return { type: 'full', ...saved, dns: { domain: '', nameservers: [] }, relay: { udpPort: 0, wsPath: '' } };
}

