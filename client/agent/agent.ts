import { hostname as osHostname, platform } from 'node:os';
import type { Logger } from 'pino';
import type { Credential } from '../../protocol/join.ts';
import type { SelfNode } from '../../protocol/node.ts';
import type { WorkloadSpec } from '../identity/workload-spec.ts';
import { ControlClient } from '../control/control-client.ts';
import { generateMachineKey } from '../control/machine-key.ts';
import type { MapState } from '../control/map-state.ts';
import { PathManager } from '../paths/path-manager.ts';
import { RelayTransport } from '../paths/relay-transport.ts';
import type { RelayTransportMode } from '../paths/relay-transport-selector.ts';
import { generateKeyPair, publicKeyOf } from '../wireguard/keys.ts';
import { ApplyLoop } from './apply-loop.ts';
import { ControlLink } from './control-link.ts';
import { candidateContext, localEndpoints } from './endpoints.ts';
import type { Engine } from './engine.ts';
import { AgentError } from './errors.ts';
import type { AgentState, LoginRequest, LoginStarted, LoginWaitResponse, StatusResponse, UpRequest, WhoisResponse } from './local-api/messages.ts';
import { PersonSignIn } from './person-sign-in.ts';
import { reconfig, relayPeer } from './reconfig.ts';
import { serverAddress } from './server-address.ts';
import { type Keys, type NodeState, type SavedMap, StateStore } from './state-store.ts';
import { statusView } from './status-view.ts';
import { whois } from './whois.ts';
import { WorkloadMembership } from './workload-membership.ts';

/**
 * The agent's composition root. Three narrow layers, wired only here:
 *  - control (client/control): the map stream hands every applied map to `onMap`;
 *  - reconfig (reconfig.ts): the map becomes an EngineConfig, with no I/O;
 *  - engine (engine.ts): WireGuard, addresses and routes, and the filter are made to match.
 * Control and engine never import each other. The state directory makes a restarted agent the
 * same node: it applies the last map at once (so tunnels and rules are in force before the server
 * answers, or if it never does) and resumes the stream from that map's version. A stopping agent
 * leaves the data plane running (wireguard-go outlives it and is adopted by the next one).
 * The map stream (control-link.ts), workload renewal (workload-membership.ts) and a person's
 * sign-in (person-sign-in.ts) get only the callbacks they need from here, not the Agent.
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
  /** How WireGuard reaches the relay (client/paths/relay-transport.ts); default auto. */
  relayTransport?: RelayTransportMode;
}

const DEFAULT_UP_WAIT_MS = 15_000;

/** A map to apply, and whether it came from the server (or from the state directory). */
type AppliedMap = SavedMap & { fromServer: boolean };

export class Agent {
  private readonly store: StateStore;
  private keys!: Keys;
  private node: NodeState | undefined;
  private readonly link: ControlLink;
  private lastError: string | undefined;
  private appliedVersion = -1;
  private appliedFromServer = 0;
  private readonly loop: ApplyLoop<AppliedMap>;
  private state: AgentState = 'needs-login';
  private readonly workload: WorkloadMembership;
  private readonly signIn: PersonSignIn;
  private readonly paths: PathManager;
  private relayEndpoint: string | undefined;
  private readonly relay: RelayTransport;
  /** The last map counted as applied from the server (a transport change applies it again). */
  private counted: AppliedMap | undefined;

  constructor(private readonly options: AgentOptions) {
    this.store = new StateStore(options.stateDir);
    this.loop = new ApplyLoop((map) => this.applyMap(map), (err) => this.fail('applying the network map', err));
    this.link = new ControlLink({
      onMap: (state) => this.onMap(state),
      onGoodbye: (code, message) => void this.onGoodbye(code, message),
      onPathTrial: (trial) => void this.paths.trial(trial),
      endpoints: () => localEndpoints(options.listenPort, options.iface, options.meshRanges),
      endpointRefreshMs: options.endpointRefreshMs ?? 30_000,
      log: options.logger,
    });
    this.workload = new WorkloadMembership({
      node: () => this.node,
      member: () => this.link.open && this.state !== 'needs-login',
      up: (req) => this.up(req),
      join: (serverUrl, credential, spec) => this.join({ serverUrl }, credential, spec),
      reregister: (node, credential) => this.reregister(node, credential),
      noteError: (message) => (this.lastError = message),
      serverUrl: options.serverUrl,
      log: options.logger,
    });
    this.paths = new PathManager({
      map: () => this.link.map, relayEndpoint: () => this.relayEndpoint, device: () => options.engine.state(),
      setEndpoint: (key, endpoint) => options.engine.setPeerEndpoint(key, endpoint),
      request: (peerId) => this.link.requestPath(peerId),
      touchServer: () => {
        const key = this.link.map?.relay?.wireguardKey;
        if (key) void options.engine.initiateHandshakes([key]).catch(() => undefined);
      },
      changed: () => this.loop.again(),
      localEndpoints: () => localEndpoints(options.listenPort, options.iface, options.meshRanges),
      networkChanged: () => {
        this.link.networkChanged();
        void options.engine.rebind().catch(() => undefined);
      },
      candidates: () => candidateContext(options.listenPort, options.iface, options.meshRanges),
      log: options.logger,
    });
    this.signIn = new PersonSignIn({
      useServer: (requested) => this.useServer(requested),
      node: () => this.node,
      machineKey: () => this.keys.machinePrivateKey,
      up: (req) => this.up(req),
    });
    this.relay = new RelayTransport({
      mode: options.relayTransport ?? 'auto', wireguardPort: options.listenPort, log: options.logger,
      server: () => this.node && new ControlClient(this.node.serverUrl, this.keys.machinePrivateKey),
      device: () => options.engine.state(), nudge: (keys) => options.engine.initiateHandshakes(keys), reapply: () => this.loop.again(),
    });
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
    if (this.node?.workload && this.node.wantRunning) this.workload.resume(this.node.workload);
    if (!this.node?.self) return this.setState('needs-login');
    if (!this.node.wantRunning) return this.setState('stopped');
    const saved = this.store.readMap();
    this.setState('starting');
    if (saved) this.loop.submit({ ...saved, fromServer: false });
    this.link.connect(this.node.serverUrl, this.keys.machinePrivateKey, saved);
  }

  /** Joins (with a credential) or reconnects (without); resolves once the first map is applied. */
  async up(req: UpRequest): Promise<StatusResponse> {
    const serverUrl = await this.useServer(req.serverUrl);
    const workload = req.workload && await this.workload.read(req.workload);
    const credential = workload ? workload.credential : req.credential;
    // A new credential replaces whatever kept the old one fresh.
    if (credential) this.workload.stop();
    await this.join({ ...req, serverUrl }, credential, workload?.spec);
    if (workload) this.workload.renewFrom(workload, this.node!.self!);
    else if (!credential && this.node?.workload && !this.workload.renewing) this.workload.resume(this.node.workload);
    return this.status();
  }

  /** The server for a request; joining another server than before starts afresh as a new node. */
  private async useServer(requested: string | undefined): Promise<string> {
    const serverUrl = requested ?? this.node?.serverUrl ?? this.options.serverUrl;
    if (!serverUrl) throw new AgentError('agent.bad_request', 'no server: pass --server URL (the node has not joined one before)');
    if (this.node && this.node.serverUrl !== serverUrl) {
      // Another mesh: this machine becomes a new node there; nothing of the old one is kept.
      this.workload.stop();
      this.link.disconnect();
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
    if (!this.link.open || credential) {
      this.link.disconnect();
      if (this.state !== 'running') this.setState('starting');
      const saved = this.store.readMap();
      // Back up after `down`: the last map is in force at once, as after a restart.
      if (saved && this.state !== 'running') this.loop.submit({ ...saved, fromServer: false });
      this.link.connect(this.node.serverUrl, this.keys.machinePrivateKey, saved);
    }
    await this.waitFor(() => this.appliedFromServer > before || (this.state === 'running' && !credential && this.link.connected), req.waitMs ?? DEFAULT_UP_WAIT_MS);
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

  /** Registers again with the same machine key: same node, same addresses, the stream stays open. */
  private async reregister(node: NodeState, credential: Credential): Promise<SelfNode> {
    const self = await this.register(new ControlClient(node.serverUrl, this.keys.machinePrivateKey), node, credential);
    this.node = { ...node, self, signedInAt: Date.now() };
    this.store.writeNode(this.node);
    return self;
  }

  /** `trellis agent --token-file ...`: see WorkloadMembership.joinOnStart. */
  joinOnStart(spec: WorkloadSpec, options: { hostname?: string } = {}): Promise<void> {
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
    this.link.disconnect();
    this.paths.stop();
    this.loop.stop();
    await this.loop.idle();
    await this.relay.stop();
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
    this.workload.close();
    this.signIn.cancel();
    this.link.disconnect();
    this.paths.stop();
    this.loop.stop();
    await this.loop.idle();
    await this.relay.stop();
  }

  async status(): Promise<StatusResponse> {
    const map = this.link.map;
    const device = await this.options.engine.state().catch(() => undefined);
    const self = map?.self ?? this.node?.self;
    const renewal = this.workload.status();
    return statusView({
      state: this.state, connected: this.link.connected, iface: this.options.iface, listenPort: this.options.listenPort, relayTransport: this.relay.transport,
      mapVersion: this.appliedVersion, peers: map?.peers.values() ?? [],
      ...(device && { device }),
      ...(self && { self }),
      ...(this.node?.serverUrl && { serverUrl: this.node.serverUrl }),
      ...(map?.policyWarning && { policyWarning: map.policyWarning }),
      ...(this.lastError && { lastError: this.lastError }),
      ...(this.node?.signedInAt !== undefined && { signedInAt: this.node.signedInAt }),
      ...(renewal && { workload: renewal }),
      ...(this.relayEndpoint && { relayEndpoint: this.relayEndpoint }),
      paths: (id) => this.paths.path(id),
    });
  }

  whois(ip: string): WhoisResponse {
    const map = this.link.map;
    return whois(ip, map?.self ?? this.node?.self, map?.peers.values() ?? []);
  }

  // ---- control layer wiring ----

  private onMap(state: MapState): void {
    if (!state.self) return;
    this.loop.submit({
      version: state.version, self: state.self, peers: [...state.peers.values()], packetFilter: state.packetFilter,
      ...(state.relay && { relay: state.relay }), fromServer: true,
    });
  }

  private async onGoodbye(code: string, message: string): Promise<void> {
    this.log.warn({ code }, `the server ended this node's membership: ${message}`);
    this.lastError = `${code}: ${message}`;
    this.link.disconnect();
    this.paths.stop();
    this.loop.stop();
    await this.loop.idle();
    await this.relay.stop();
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

  // ---- reconfig and engine ----

  private async applyMap(map: AppliedMap): Promise<void> {
    const serverHost = map.relay?.wireguardKey && !map.relay.endpoint && this.node ? await serverAddress(this.node.serverUrl) : undefined;
    const config = this.relay.configure(map.relay, (relayEndpoint) => {
      this.relayEndpoint = relayEndpoint ?? relayPeer(map.relay, serverHost)?.endpoint;
      return reconfig(map, {
        privateKey: this.keys.wireguardPrivateKey, listenPort: this.options.listenPort, ...(serverHost && { serverHost }),
        directPaths: this.paths.directPaths(), ...(relayEndpoint && { relayEndpoint }),
      });
    });
    await this.options.engine.apply(config);
    await this.paths.bindProbe(config.addresses);
    this.paths.start();
    const { fromServer, ...saved } = map;
    this.store.writeMap(saved);
    if (this.node && JSON.stringify(this.node.self) !== JSON.stringify(map.self)) {
      this.node = { ...this.node, self: map.self };
      this.store.writeNode(this.node);
    }
    this.appliedVersion = map.version;
    if (fromServer && map !== this.counted) this.appliedFromServer += 1;
    this.counted = map;
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
