import { hostname as osHostname, platform } from 'node:os';
import type { Credential } from '../../protocol/join.ts';
import type { SelfNode } from '../../protocol/node.ts';
import type { WorkloadSpec } from '../identity/workload-spec.ts';
import { ControlClient } from '../control/control-client.ts';
import { ServerList } from '../control/server-list.ts';
import { generateMachineKey } from '../control/machine-key.ts';
import { generateKeyPair, publicKeyOf } from '../wireguard/keys.ts';
import type { Engine } from './engine.ts';
import { AgentError } from './errors.ts';
import type { UpRequest } from './local-api/messages.ts';
import type { Keys, NodeState, StateStore } from './state-store.ts';
import type { RouterSettings } from '../router/router-config.ts';
import type { AcceptSettings } from '../routes/accepted-routes.ts';
import type { RouteProbeSpec } from '../router/probe-spec.ts';
import type { DnsConfig } from '../../protocol/map.ts';
import { advertisedWithServices, serviceProbes, servedServices, type ServedService } from '../serve/served-services.ts';

/** `{ key: value }`, or nothing when the value is undefined (the record keeps optional keys absent). */
const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
import { advertisedWithExit } from '../exit-node/advertise.ts';

/**
 * Which node this machine is, in which mesh: its keys and its node record (server, join
 * preferences, self), kept in the state directory. Joining registers with a credential (or,
 * without one, updates the node in place) and saves what the node asked for; the map stream
 * and the data plane are the agent's business, reached only through `deps`.
 */
interface MembershipDeps {
  store: StateStore;
  engine: Pick<Engine, 'prepare' | 'teardown'>;
  /** Servers (one server's replicas) for `up` when neither the request nor the state names one. */
  serverUrls: readonly string[] | undefined;
  /** Whether the data plane is in force (a failed join then leaves it as it was). */
  running(): boolean;
  /** Another server: stop all that belongs to the old node (renewal, stream, data plane, its maps). */
  leave(): Promise<void>;
  /** The wall clock (ms), for when the node signed in. */
  now: () => number;
  /** The mesh's names as the map in force gives them (its services' addresses, for `--serve`). */
  dns: () => DnsConfig | undefined;
}

export class Membership {
  private keys!: Keys;
  private current: NodeState | undefined;
  /** The routes advertiseServices last asked the server for. */
  private asked: string | undefined;
  /** The node's replicas, shared by every request and the map stream so they agree on the one in use. */
  private list: ServerList | undefined;

  constructor(private readonly deps: MembershipDeps) {}

  /** The node as last saved; undefined before the machine joined any server. */
  get node(): NodeState | undefined {
    return this.current;
  }

  machineKey(): string {
    return this.keys.machinePrivateKey;
  }

  wireguardKey(): string {
    return this.keys.wireguardPrivateKey;
  }

  /** Reads keys and node from the state directory; a machine without keys gets new ones. */
  load(): void {
    this.keys = this.deps.store.readKeys() ?? this.newKeys();
    this.current = this.deps.store.readNode();
  }

  /**
   * The servers for a request; joining another server than before starts afresh as a new node.
   * A list sharing a URL with the node's is the same server (a replica added or removed).
   */
  async useServer(requested: readonly string[] | undefined): Promise<string[]> {
    const urls = [...(requested ?? (this.current && serversOf(this.current)) ?? this.deps.serverUrls ?? [])];
    if (urls.length === 0)
      throw new AgentError('agent.bad_request', 'no server: pass --server URL (the node has not joined one before)');
    if (this.current && !serversOf(this.current).some((url) => urls.includes(url))) {
      // Another mesh: this machine becomes a new node there; nothing of the old one is kept.
      await this.deps.leave();
      this.deps.store.forget({ keys: true });
      this.keys = this.newKeys();
      this.current = undefined;
    }
    return urls;
  }

  /** The node's replicas (undefined before it joined any), the one in use first. */
  servers(): ServerList | undefined {
    return this.current && this.listOf(serversOf(this.current));
  }

  private listOf(urls: readonly string[]): ServerList {
    if (!this.list || this.list.urls.join(' ') !== urls.join(' ')) this.list = new ServerList(urls);
    return this.list;
  }

  /**
   * Registers with `credential`, or without one updates what the request changes on the node
   * that already joined; then saves the node with its preferences, wanting to run.
   */
  async join(
    req: UpRequest & { serverUrls: string[] },
    credential: Credential | undefined,
    workload: WorkloadSpec | undefined,
  ): Promise<void> {
    const { serverUrls } = req;
    const node = this.current;
    const prefs: NodeState = {
      serverUrl: serverUrls[0]!,
      ...(serverUrls.length > 1 && { serverUrls }),
      hostname: req.hostname ?? node?.hostname ?? osHostname(),
      advertiseRoutes: advertisedWithExit(req, node?.advertiseRoutes ?? []),
      advertiseTags: req.advertiseTags ?? node?.advertiseTags ?? [],
      ...optional('snatSubnetRoutes', req.snatSubnetRoutes ?? node?.snatSubnetRoutes),
      ...optional('gatewayFor', req.gatewayFor ?? node?.gatewayFor),
      ...optional('acceptRoutes', req.acceptRoutes ?? node?.acceptRoutes),
      ...optional('acceptRoutesForce', req.acceptRoutesForce ?? node?.acceptRoutesForce),
      ...optional('routeProbes', req.routeProbes ?? node?.routeProbes),
      ...optional('routePriority', req.routePriority ?? node?.routePriority),
      ...optional('serve', req.serve ?? node?.serve),
      wantRunning: true,
      ...(node?.self && { self: node.self }),
      // A new credential says anew how this node proves itself; a reconnect keeps how it did.
      ...((credential ? workload : node?.workload) && { workload: credential ? workload : node?.workload }),
      ...(!credential && node?.signedInAt !== undefined && { signedInAt: node.signedInAt }),
      ...(req.exitNode !== '' &&
        (req.exitNode ?? node?.exitNode) !== undefined && {
          exitNode: req.exitNode ?? node?.exitNode,
        }),
      ...((req.exitNodeAllowLanAccess ?? node?.exitNodeAllowLanAccess) && { exitNodeAllowLanAccess: true }),
    };
    const control = new ControlClient(this.listOf(serverUrls), this.keys.machinePrivateKey);
    // Start wireguard-go while the server answers; a failure here shows again in the first apply.
    void this.deps.engine.prepare().catch(() => undefined);
    if (credential) {
      const self = await this.register(control, prefs, credential).catch(async (err: unknown) => {
        // Nothing was running before: do not leave the device prepared above behind.
        if (!this.deps.running()) await this.deps.engine.teardown({ keepGuard: true }).catch(() => undefined);
        throw new AgentError(
          'agent.join_failed',
          `joining ${serverUrls.join(', ')} failed: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      });
      prefs.self = self;
      prefs.signedInAt = this.deps.now();
    } else if (!prefs.self) {
      throw new AgentError(
        'agent.not_logged_in',
        'this node has not joined yet: pass a credential (trellis up --auth-key KEY, --login or --token-file PATH)',
      );
    } else if (
      req.hostname !== undefined ||
      req.advertiseRoutes !== undefined ||
      req.advertiseExitNode !== undefined ||
      req.routePriority !== undefined ||
      req.serve !== undefined
    ) {
      prefs.self = await control.update({
        ...(req.hostname !== undefined && { hostname: req.hostname }),
        ...((req.advertiseRoutes !== undefined || req.advertiseExitNode !== undefined || req.serve !== undefined) && {
          advertiseRoutes: this.advertised(prefs),
        }),
        ...(req.routePriority !== undefined && { routePriority: req.routePriority }),
      });
    }
    this.save(prefs);
  }

  /** Registers again with the same machine key: same node, same addresses, the stream stays open. */
  async reregister(node: NodeState, credential: Credential): Promise<SelfNode> {
    const control = new ControlClient(this.listOf(serversOf(node)), this.keys.machinePrivateKey);
    const self = await this.register(control, node, credential);
    this.save({ ...node, self, signedInAt: this.deps.now() });
    return self;
  }

  /** A control client for the node's server, while the machine has one. */
  control(): ControlClient | undefined {
    const servers = this.servers();
    return servers && new ControlClient(servers, this.keys.machinePrivateKey);
  }

  /** The applied map's self record (addresses, name) is saved when it changed. */
  noteSelf(self: SelfNode): void {
    if (this.current && JSON.stringify(this.current.self) !== JSON.stringify(self))
      this.save({ ...this.current, self });
  }

  /** `down`: a restarted agent stays down until `up`. False when the machine never joined. */
  stopRunning(): boolean {
    if (!this.current) return false;
    this.save({ ...this.current, wantRunning: false });
    return true;
  }

  /** The server ended the membership; preferences stay, so `up` can sign the same machine in again. */
  dropSelf(): void {
    if (!this.current) return;
    const { self: _gone, ...rest } = this.current;
    this.save(rest);
  }

  /** This node's router settings as `up` last set them. */
  routerSettings(): RouterSettings {
    return { snatSubnetRoutes: this.current?.snatSubnetRoutes ?? true, gatewayFor: this.current?.gatewayFor ?? [] };
  }

  /** Which offered subnet routes this machine takes, as `up` last set it. */
  acceptSettings(): AcceptSettings {
    return { acceptRoutes: this.current?.acceptRoutes ?? false, force: this.current?.acceptRoutesForce ?? [] };
  }

  /** The route probes in force: those of routes this node advertises, a served service's among them. */
  routeProbes(): RouteProbeSpec[] {
    const advertised = new Set(this.current?.self?.advertisedRoutes ?? this.current?.advertiseRoutes ?? []);
    const probes = [...(this.current?.routeProbes ?? []), ...serviceProbes(this.served().served)];
    return probes.filter((p) => advertised.has(p.prefix));
  }

  /** The services `up --serve` asked for, as the map in force knows them (client/serve/). */
  served(): { served: ServedService[]; unknown: string[] } {
    return servedServices(this.current?.serve ?? [], this.deps.dns(), this.current?.self);
  }

  /**
   * Advertises the served services' addresses once the map names them: a node's first map comes
   * after it registered, so a new replica asks for them in a second step. Asked once per set of
   * routes (a refusal is not retried on every map); true when the server was asked.
   */
  async advertiseServices(): Promise<boolean> {
    const node = this.current;
    if (!node?.self || !node.serve?.length) return false;
    const wanted = this.advertised(node);
    const key = [...wanted].sort().join(',');
    const have = [...node.self.advertisedRoutes].sort().join(',');
    if (key === have || key === this.asked) return false;
    this.asked = key;
    const control = this.control();
    if (!control) return false;
    const self = await control.update({ advertiseRoutes: wanted });
    if (this.current?.self?.id === self.id) this.save({ ...this.current, self });
    return true;
  }

  /** The routes to advertise: the node's own, with the addresses of the services it serves. */
  private advertised(prefs: NodeState): string[] {
    return advertisedWithServices(
      prefs.advertiseRoutes,
      servedServices(prefs.serve ?? [], this.deps.dns(), prefs.self).served,
    );
  }

  private register(control: ControlClient, prefs: NodeState, credential: Credential): Promise<SelfNode> {
    const advertiseRoutes = this.advertised(prefs);
    return control.register({
      wireguardKey: publicKeyOf(this.keys.wireguardPrivateKey),
      hostname: prefs.hostname,
      credential,
      ...(advertiseRoutes.length > 0 && { advertiseRoutes }),
      ...(prefs.advertiseTags.length > 0 && { advertiseTags: prefs.advertiseTags }),
      ...(prefs.routePriority !== undefined && { routePriority: prefs.routePriority }),
      os: platform(),
    });
  }

  private save(node: NodeState): void {
    this.current = node;
    this.deps.store.writeNode(node);
  }

  private newKeys(): Keys {
    const keys = {
      machinePrivateKey: generateMachineKey().privateKey,
      wireguardPrivateKey: generateKeyPair().privateKey,
    };
    this.deps.store.writeKeys(keys);
    return keys;
  }
}

/** Every replica of the node's server, the first one first. */
export function serversOf(node: Pick<NodeState, 'serverUrl' | 'serverUrls'>): string[] {
  return node.serverUrls ?? [node.serverUrl];
}

/** The servers a request names: a list (several replicas), one URL, or none. */
export function requestedServers(req: { serverUrl?: string; serverUrls?: string[] }): string[] | undefined {
  return req.serverUrls ?? (req.serverUrl === undefined ? undefined : [req.serverUrl]);
}
