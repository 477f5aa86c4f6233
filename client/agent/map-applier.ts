import type { Logger } from 'pino';
import type { PathTrial } from '../../protocol/map.ts';
import type { SelfNode } from '../../protocol/node.ts';
import type { ControlClient } from '../control/control-client.ts';
import type { MapState } from '../control/map-state.ts';
import type { PeerPath } from '../paths/path-table.ts';
import { PathManager } from '../paths/path-manager.ts';
import type { MeshDns } from '../dns/mesh-dns.ts';
import { RelayTransport } from '../paths/relay-transport.ts';
import type { RelayTransportKind, RelayTransportMode } from '../paths/relay-transport-selector.ts';
import { isPrefix } from '../netconf/prefix.ts';
import { ApplyLoop } from './apply-loop.ts';
import type { ControlLink } from './control-link.ts';
import { candidateContext, localEndpoints } from './endpoints.ts';
import type { Engine } from './engine.ts';
import { reconfig, relayPeer } from './reconfig.ts';
import { serverAddress } from './server-address.ts';
import { chooseExitNode, type ExitChoice } from '../exit-node/choose.ts';
import type { ExitDns } from '../exit-node/exit-dns.ts';
import { withExitNodes } from '../exit-node/exit-config.ts';
import { isExitRoute } from '../../protocol/route.ts';
import type { SavedMap, StateStore } from './state-store.ts';
import { routerConfig, type RouterSettings } from '../router/router-config.ts';
import { acceptRoutes, type AcceptSettings, type OfferedRoute } from '../routes/accepted-routes.ts';
import { readLocalNetwork } from '../routes/local-network.ts';
import type { LocalNetwork } from '../routes/route-safety.ts';
import { servedServices, type ServeSpec } from '../serve/served-services.ts';
import { withServiceDestinations } from '../serve/service-filter.ts';

/**
 * Makes the engine match the latest map: through reconfig, with the relay endpoint the relay
 * transport chose and the direct paths the path manager found. Either changing its mind applies
 * the map again. An applied map is saved, so a restarted agent starts from it.
 */
interface MapApplierDeps {
  engine: Engine;
  store: StateStore;
  /** The map stream: the map it holds, path trials asked of the server, a reconnect. */
  link: Pick<ControlLink, 'map' | 'requestPath' | 'networkChanged'>;
  /** The node's server, while the machine has one (its host is the relay's when the map names none). */
  serverUrl(): string | undefined;
  server(): ControlClient | undefined;
  wireguardKey(): string;
  /** The node's router settings (client/router), as `up` last set them. */
  routerSettings(): RouterSettings;
  /** Which offered subnet routes this machine takes (client/routes). */
  acceptSettings(): AcceptSettings;
  /** The mesh services this node serves (`up --serve`, client/serve/). */
  serve(): readonly ServeSpec[];
  /** The map's self record, for the node to save. */
  noteSelf(self: SelfNode): void;
  applied(): void;
  failed(err: unknown): void;
  iface: string;
  listenPort: number;
  /** Until a map names the mesh's ranges. */
  meshRanges: readonly string[];
  relayTransport: RelayTransportMode;
  /** Mesh names on this node; absent: the agent leaves DNS alone (--dns off). */
  dns?: MeshDns;
  /** The exit node the user selected (`trellis up --exit-node`), read at each apply. */
  exitPreference(): { wanted: string; allowLan: boolean } | undefined;
  /** The exit node's resolver, while this node is one; absent: not served (tests without port 53). */
  exitDns?: ExitDns;
  log: Logger;
}

/** A map to apply, and whether it came from the server (or from the state directory). */
type AppliedMap = SavedMap & { fromServer: boolean };

export class MapApplier {
  private readonly loop: ApplyLoop<AppliedMap>;
  private readonly paths: PathManager;
  private readonly relay: RelayTransport;
  private endpoint: string | undefined;
  private appliedVersion = -1;
  private appliedFromServer = 0;
  /** The last map counted as applied from the server (a transport change applies it again). */
  private counted: AppliedMap | undefined;
  /** The relay run the applied map named (protocol/map.ts RelayConfig.instance). */
  private relayInstance: string | undefined;
  /** Which peers the applied map said were online (by WireGuard key). */
  private peersOnline = new Map<string, boolean>();
  /** The subnet routes peers offer and whether this machine routes them (`trellis status`). */
  private offeredRoutes: OfferedRoute[] = [];
  /** Refusals already logged, so each is said once. */
  private refusalsSaid = '';
  /** Why mesh names are not served, once logged. */
  private dnsError: string | undefined;
  /** The exit node chosen at the last apply (`auto` stays with it while it is online). */
  private exit: ExitChoice | undefined;
  private serverIp: string | undefined;
  /** The LAN routes were last judged against, and for which server addresses (localNetwork). */
  private lan: { servers: string; network: LocalNetwork } | undefined;

  constructor(private readonly deps: MapApplierDeps) {
    const { engine, link, listenPort, iface, log } = deps;
    const meshRanges = () => this.meshRanges;
    this.loop = new ApplyLoop(
      (map) => this.apply(map),
      (err) => deps.failed(err),
    );
    this.paths = new PathManager({
      map: () => link.map,
      relayEndpoint: () => this.endpoint,
      device: () => engine.state(),
      setEndpoint: (key, endpoint) => engine.setPeerEndpoint(key, endpoint),
      restartHandshakes: (keys) => engine.restartHandshakes(keys),
      request: (peerId) => link.requestPath(peerId),
      touchServer: () => {
        const key = link.map?.relay?.wireguardKey;
        if (key) void engine.initiateHandshakes([key]).catch(() => undefined);
      },
      changed: () => this.loop.again(),
      localEndpoints: () => localEndpoints(listenPort, iface, meshRanges(), Infinity), // all of them: a change is what matters
      networkChanged: () => {
        link.networkChanged();
        void engine.rebind().catch(() => undefined);
      },
      candidates: () => candidateContext(listenPort, iface, meshRanges()),
      log,
    });
    this.relay = new RelayTransport({
      mode: deps.relayTransport,
      wireguardPort: listenPort,
      log,
      server: () => deps.server(),
      device: () => engine.state(),
      nudge: (keys) => engine.initiateHandshakes(keys),
      restart: () => engine.restartHandshakes(),
      reapply: () => this.loop.again(),
    });
  }

  /** The version of the map in force; -1 before any (or after the node was forgotten). */
  get version(): number {
    return this.appliedVersion;
  }

  /** How many maps from the server were applied: `up` waits for this to move. */
  get fromServer(): number {
    return this.appliedFromServer;
  }

  /** The mesh's ranges in force: the applied map's, else the agent's own (its flag). */
  get meshRanges(): readonly string[] {
    return this.counted?.meshRanges ?? this.deps.meshRanges;
  }

  get relayEndpoint(): string | undefined {
    return this.endpoint;
  }

  get relayTransport(): RelayTransportKind {
    return this.relay.transport;
  }

  get offered(): readonly OfferedRoute[] {
    return this.offeredRoutes;
  }

  /** The exit node in use as of the last apply; undefined while none is selected. */
  get exitChoice(): ExitChoice | undefined {
    return this.exit;
  }

  /** Applies the map in force again now (the node's local settings changed) and waits for it. */
  async reapply(): Promise<void> {
    this.loop.again();
    await this.loop.idle();
  }

  /** Resolves once no apply is pending or running (the last one done, or failed and due for a retry). */
  idle(): Promise<void> {
    return this.loop.idle();
  }

  path(peerId: string): PeerPath | undefined {
    return this.paths.path(peerId);
  }

  submit(map: AppliedMap): void {
    this.loop.submit(map);
  }

  /** A map from the stream; one without our own record yet cannot be applied. */
  submitStreamed(state: MapState): void {
    if (!state.self) return;
    const meshRanges = this.checkedRanges(state.meshRanges);
    this.loop.submit({
      version: state.version,
      self: state.self,
      peers: [...state.peers.values()],
      packetFilter: state.packetFilter,
      ...(state.relay && { relay: state.relay }),
      ...(meshRanges && { meshRanges }),
      ...(state.dns && { dns: state.dns }),
      ...(state.policyWarning !== undefined && { policyWarning: state.policyWarning }),
      ...(state.serverProtocolVersion !== undefined && { protocolVersion: state.serverProtocolVersion }),
      ...(state.changeSeq !== undefined && { changeSeq: state.changeSeq }),
      fromServer: true,
    });
  }

  /** The map's mesh ranges if every one is a prefix; otherwise none (the agent's own stay in force). */
  private checkedRanges(ranges: readonly string[] | undefined): string[] | undefined {
    if (!ranges) return undefined;
    const bad = ranges.find((r) => !isPrefix(r, { bareAddress: false }));
    if (bad === undefined) return [...ranges];
    this.deps.log.warn(
      { range: bad },
      "the map names a mesh range that is not a CIDR prefix; keeping this agent's own ranges",
    );
    return undefined;
  }

  trial(trial: PathTrial): void {
    void this.paths.trial(trial);
  }

  /** No more applies, trials or relay connections; what the engine has stays in force. */
  async stop(): Promise<void> {
    this.paths.stop();
    this.loop.stop();
    await this.loop.idle();
    await this.relay.stop();
    await this.deps.dns?.stop();
    await this.deps.exitDns?.stop();
  }

  /** The node is gone: no map is in force for whatever comes next. */
  forget(): void {
    this.appliedVersion = -1;
  }

  private async apply(received: AppliedMap): Promise<void> {
    const url = this.deps.serverUrl();
    const { map, offered } = await this.withAcceptedRoutes(received, url);
    const serverHost =
      map.relay?.wireguardKey && !map.relay.endpoint && url !== undefined ? await serverAddress(url) : undefined;
    // A served service's addresses are this node's own, not a subnet it forwards to.
    const { served } = servedServices(this.deps.serve(), map.dns, map.self);
    const servicePrefixes = new Set(served.flatMap((s) => s.prefixes));
    const router = routerConfig(
      { ...map.self, approvedRoutes: map.self.approvedRoutes.filter((r) => !servicePrefixes.has(r)) },
      this.deps.routerSettings(),
    );
    const exitNode = await this.exitNode(map, url);
    const byId = new Map(map.peers.map((p) => [p.id, p.wireguardKey]));
    const config = this.relay.configure(map.relay, (relayEndpoint) =>
      withExitNodes(
        reconfig(map, {
          privateKey: this.deps.wireguardKey(),
          listenPort: this.deps.listenPort,
          ...(serverHost && { serverHost }),
          directPaths: this.paths.directPaths(),
          trials: this.paths.trials(),
          ...(relayEndpoint && { relayEndpoint }),
          ...(router && { router }),
        }),
        map,
        exitNode,
        (id) => byId.get(id),
        this.meshRanges,
      ),
    );
    const relayBefore = this.endpoint;
    this.endpoint = this.relay.relayedEndpoint ?? relayPeer(map.relay, serverHost)?.endpoint;
    await this.deps.engine.apply(
      served.length === 0
        ? config
        : {
            ...config,
            addresses: [...config.addresses, ...servicePrefixes],
            filter: withServiceDestinations(config.filter, map.self, served),
            replicaAddresses: served.flatMap((s) => [s.ipv4, s.ipv6]),
          },
    );
    this.offeredRoutes = offered; // shown as accepted once routed, not before
    await this.renewIfRelayRestarted(map, relayBefore !== undefined && relayBefore !== this.endpoint);
    await this.renewIfPeersRestarted(map);
    // Status shows the exit node (online or not) as in force only now: with its routes and the
    // kill switch applied and the session with it renewed, not when the map that says so came.
    this.exit = exitNode?.choice;
    await this.updateNames(map, config.exitNode?.resolvers);
    await this.updateExitDns(map, config.gateway === true);
    await this.paths.bindProbe(config.addresses);
    this.paths.start();
    const { fromServer, ...saved } = received;
    this.deps.store.writeMap(saved);
    this.deps.noteSelf(map.self);
    this.appliedVersion = map.version;
    if (fromServer && received !== this.counted) this.appliedFromServer += 1;
    this.counted = received;
    this.deps.applied();
    void this.refreshLocalNetwork(url);
    this.deps.log.debug(
      { version: map.version, peers: config.peers.length, rules: config.filter.length },
      'map applied',
    );
  }

  /** The map with only the subnet routes this machine takes (client/routes/accepted-routes.ts). */
  private async withAcceptedRoutes(
    map: AppliedMap,
    url: string | undefined,
  ): Promise<{ map: AppliedMap; offered: OfferedRoute[] }> {
    const settings = this.deps.acceptSettings();
    const local: LocalNetwork = settings.acceptRoutes
      ? await this.localNetwork(url)
      : { connected: [], gateways: [], servers: [] };
    // Mesh services' addresses lie in the mesh ranges and are no one's subnet: always taken.
    const services = (map.dns?.services ?? []).flatMap((s) =>
      s.addresses.map((a) => `${a}/${a.includes(':') ? 128 : 32}`),
    );
    const acceptance = acceptRoutes(map.peers, settings, local, services);
    const said = acceptance.refusals.map((r) => r.message).join('\n');
    if (said !== this.refusalsSaid)
      for (const r of acceptance.refusals) this.deps.log.warn({ code: r.code, prefix: r.prefix }, r.message);
    this.refusalsSaid = said;
    return { map: { ...map, peers: acceptance.peers }, offered: acceptance.offered };
  }

  /**
   * The machine's LAN as routes are judged against it: read at the first apply, then the
   * reading of the last apply's end. Reading it costs two process starts, which would otherwise
   * sit in front of every map (a failover's included); `refreshLocalNetwork` reads it again
   * after each apply and applies once more when it changed, so a new LAN is judged as soon.
   */
  private async localNetwork(url: string | undefined): Promise<LocalNetwork> {
    const servers = [(url && (await serverAddress(url))) || ''].filter(Boolean);
    if (this.lan?.servers !== servers.join()) this.lan = undefined;
    this.lan ??= { servers: servers.join(), network: await readLocalNetwork(this.deps.iface, servers) };
    return this.lan.network;
  }

  private async refreshLocalNetwork(url: string | undefined): Promise<void> {
    const before = this.lan;
    if (!before || !this.deps.acceptSettings().acceptRoutes) return;
    try {
      const servers = [(url && (await serverAddress(url))) || ''].filter(Boolean);
      const network = await readLocalNetwork(this.deps.iface, servers);
      if (this.lan !== before) return; // an apply read it meanwhile
      this.lan = { servers: servers.join(), network };
      if (JSON.stringify(network) !== JSON.stringify(before.network) || this.lan.servers !== before.servers)
        this.loop.again();
    } catch (err) {
      this.lan = undefined; // the next apply reads it itself
      this.deps.log.warn({ err }, "reading this machine's LAN failed");
    }
  }

  /**
   * The exit node for this map: the user's choice among the peers on offer, and the addresses
   * the agent's own traffic reaches outside the tunnel (control server, relay).
   */
  private async exitNode(map: AppliedMap, url: string | undefined) {
    const pref = this.deps.exitPreference();
    if (!pref) return undefined;
    const choice = chooseExitNode({
      wanted: pref.wanted,
      peers: map.peers,
      ...(this.exit?.peer && { current: this.exit.peer.id }),
      latencyMs: (id) => this.paths.path(id)?.latencyMs,
    });
    const relayHost = map.relay?.endpoint?.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    // Resolved before the kill switch was up, the server's address is kept: with it in force a
    // name is resolved through the exit node, which may be the one that is gone.
    const server = (url !== undefined ? await serverAddress(url) : undefined) ?? this.serverIp;
    this.serverIp = server;
    const bypass = [...new Set([server, relayHost].filter((a): a is string => !!a))];
    return { choice, allowLan: pref.allowLan, bypass };
  }

  /** An approved exit route of our own: answer DNS on our mesh addresses for the nodes using us. */
  private async updateExitDns(map: AppliedMap, gateway: boolean): Promise<void> {
    const dns = this.deps.exitDns;
    if (!dns) return;
    try {
      const addresses = gateway && map.self.approvedRoutes.some(isExitRoute) ? [map.self.ipv4, map.self.ipv6] : [];
      await dns.update({
        addresses: addresses.filter(Boolean).map((a) => a.split('/')[0]!),
        ...(map.dns?.domain && { domain: map.dns.domain }),
        hosts: [...map.peers].map((p) => ({ name: p.name, addresses: p.addresses.map((a) => a.split('/')[0]!) })),
      });
    } catch (err) {
      this.deps.log.warn({ err }, "the exit node's resolver is not served");
    }
  }

  /** Names are a convenience: a DNS failure (the port taken, say) must not hold the network back. */
  private async updateNames(map: AppliedMap, exitResolvers?: readonly string[]): Promise<void> {
    try {
      await this.deps.dns?.update(map, exitResolvers);
      this.dnsError = undefined;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (message !== this.dnsError) this.deps.log.warn({ err }, 'mesh names are not served');
      this.dnsError = message; // said once, not on every map
    }
  }

  /**
   * A relay that restarted knows none of the sessions through it: handshake afresh with the
   * server (so it learns our mapping again) and with the peers on the relay (so it learns their
   * routes), instead of waiting ~15 s for WireGuard to give up on the old sessions. One new
   * session serves both ends, so of each pair only the node with the smaller key renews it: were
   * both to, the later one would throw away the session the earlier one had just made.
   */
  /**
   * A peer that was offline and is back (restarted, as an exit node that crashed) knows none of
   * our sessions: its map says online at once, but what we send goes on with the old session
   * and is dropped until WireGuard gives up on it (~15 s). Handshake afresh with it now. The
   * peer that came back does not see itself come back, so it keeps the session we make.
   */
  private async renewIfPeersRestarted(map: AppliedMap): Promise<void> {
    const before = this.peersOnline;
    this.peersOnline = new Map(map.peers.map((p) => [p.wireguardKey, p.online]));
    const back = map.peers.filter((p) => p.online && before.get(p.wireguardKey) === false).map((p) => p.wireguardKey);
    if (back.length === 0) return;
    this.deps.log.info({ peers: back.length }, 'peers came back online; renewing the sessions with them');
    await this.deps.engine
      .renewSessions(back)
      .catch((err: unknown) => this.deps.log.warn({ err }, 'renewing the sessions with peers back online failed'));
  }

  private async renewIfRelayRestarted(map: AppliedMap, moved: boolean): Promise<void> {
    const before = this.relayInstance;
    const now = map.relay?.instance;
    this.relayInstance = now;
    if (before === undefined || now === undefined || now === before || this.endpoint === undefined) return;
    const own = map.self.wireguardKey;
    // A restart is seen by both ends of a relayed pair, and one of them renews; after a move to
    // another replica's relay only this end knows its sessions go through a relay that never saw
    // them, so it renews them all.
    const relayed = ((await this.deps.engine.state())?.peers ?? [])
      .filter((p) => p.endpoint === this.endpoint && (moved || own < p.publicKey))
      .map((p) => p.publicKey);
    const keys = [...new Set([...(map.relay?.wireguardKey ? [map.relay.wireguardKey] : []), ...relayed])];
    this.deps.log.info({ peers: keys.length }, 'the relay restarted; renewing the sessions through it');
    // Best effort: WireGuard itself renews a stalled session within ~15 s anyway.
    await this.deps.engine
      .renewSessions(keys)
      .catch((err: unknown) => this.deps.log.warn({ err }, 'renewing the relayed sessions failed'));
  }
}
