import type { FilterRule } from '../../protocol/filter.ts';
import { NftFirewall } from '../firewall/firewall.ts';
import type { ExitGateway } from '../exit-node/gateway.ts';
import { ExitRouting } from '../netconf/exit-routing.ts';
import { LeakGuard } from '../netconf/leak-guard.ts';
import { MeshNetwork } from '../netconf/mesh-network.ts';
import { DNS_SERVICE_ADDRESS } from '../dns/mesh-dns.ts';
import { parsePrefix } from '../../protocol/ip/prefix.ts';
import { run, type Runner } from '../system/run.ts';
import type { WireGuardDevice } from '../wireguard/device.ts';
import type { DeviceState } from '../wireguard/uapi-format.ts';
import type { EngineConfig } from './reconfig.ts';
import type { SubnetRouter } from '../router/subnet-router.ts';
import { prefixOrThrow } from '../netconf/prefix.ts';

/**
 * The bottom layer of the agent: makes an EngineConfig true on this machine. It knows nothing
 * of the server or the map. Each apply, in this order:
 *  1. the inbound filter (one atomic nftables transaction; before any peer can send);
 *  2. the device: key and port (sent only when they differ);
 *  3. addresses, link and mesh routes, with the leak guard first (MeshNetwork);
 *  4. peers, incrementally: unchanged peers keep their sessions;
 *  5. routes for peers' allowed IPs outside the mesh ranges;
 *  6. forwarding for the subnets this node routes (client/router), or none;
 *  7. with an exit node selected, the kill switch (in the leak guard's table, so in force with
 *     step 3, before any route points into the tunnel) and then policy routing
 *     (netconf/exit-routing.ts); as an exit node, forwarding and masquerade (exit-node/gateway.ts).
 * `teardown` undoes the router first: forwarding goes back to what the machine had.
 * A device created afresh (first start, agent restart, wireguard-go restart) then starts
 * handshakes at once, since peers may still hold sessions with its previous incarnation.
 * Calls are serialised; a failed step leaves the earlier ones applied and throws, and the next
 * apply tries again from the top (every step is idempotent).
 */
interface EngineOptions {
  iface: string;
  /** The mesh's ranges until a config names them (maps from servers that do not). */
  meshRanges: readonly string[];
  mtu?: number;
  /** UDP port the inbound filter always lets peers reach (the agents' path probe). */
  probePort?: number;
  /**
   * Local addresses of the agent's own services (mesh DNS) for the mesh interface, as host
   * prefixes; the inbound filter lets only this machine reach them.
   */
  serviceAddresses?: readonly string[];
  /** Opens (or adopts) the device; `onRestarted` fires when its process came back empty. */
  openDevice: (onRestarted: () => void) => Promise<WireGuardDevice>;
  /** Forwarding for subnet routes and gateway sources (client/router); absent: this node never forwards. */
  router?: SubnetRouter;
  /** Forwarding and masquerade while this node is an approved exit node; absent: never one. */
  exitGateway?: ExitGateway;
  runner?: Runner;
  onError?: (what: string, error: unknown) => void;
}

/** The mark WireGuard puts on its own UDP: policy routing and the guards let it by (0x7472, "tr"). */
export const WIREGUARD_FWMARK = 0x7472;

export class Engine {
  private readonly exitRouting: ExitRouting;
  /** Whether policy routing may be installed (unknown after a start: an earlier agent's may be). */
  private exitRoutingMaybe = true;
  /** What the gateway was applied for ('' off; undefined unknown, as after a start). */
  private gatewayKey: string | undefined;
  /** The last config applied, for restoring a recreated interface. */
  private lastConfig: EngineConfig | undefined;
  private device: WireGuardDevice | undefined;
  private net: MeshNetwork | undefined;
  /** What the MeshNetwork was made for: addresses and ranges. */
  private netKey = '';
  private filterApplied: string | undefined;
  private handshakesDue = false;
  /** What the last completed apply set up besides filter and peers (see apply); undefined: unknown. */
  private steadyKey: string | undefined;
  private readonly firewall: NftFirewall;
  private readonly runner: Runner;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: EngineOptions) {
    this.runner = options.runner ?? run;
    this.firewall = new NftFirewall(
      {
        iface: options.iface,
        ...(options.probePort !== undefined && { probePort: options.probePort }),
        ...(options.serviceAddresses && { localOnly: options.serviceAddresses.map((a) => a.split('/')[0]!) }),
      },
      this.runner,
    );
    this.exitRouting = new ExitRouting(options.iface, undefined, this.runner);
  }

  get running(): boolean {
    return this.device !== undefined;
  }

  apply(config: EngineConfig): Promise<void> {
    return this.serial(async () => {
      const meshRanges = config.meshRanges ?? this.options.meshRanges;
      // A change of peers alone (a failover moves a prefix from one peer's allowed IPs to
      // another's) changes nothing that the steps between the filter and the peers set up: with
      // the device settings, addresses, ranges and exit node of the last apply that completed,
      // those are in force already. The peers then go in right after the filter and the other
      // steps re-check after them, instead of holding every failover up by their process starts
      // (half a second on a busy machine).
      const steadyKey = JSON.stringify([config.device, config.addresses, meshRanges, config.exitNode ?? null]);
      const steady = this.device !== undefined && this.net !== undefined && steadyKey === this.steadyKey;
      this.steadyKey = undefined;
      await this.applyFilter(config.filter, config.replicaAddresses ?? []);
      const device = await this.open();
      if (steady) await this.applyPeers(device, config);
      await device.configure({ ...config.device, fwmark: WIREGUARD_FWMARK });
      const netKey = `${config.addresses.join(',')} ${meshRanges.join(',')}`;
      if (!this.net || netKey !== this.netKey) {
        await this.net?.addresses.remove();
        this.net = new MeshNetwork(
          {
            iface: this.options.iface,
            addresses: config.addresses,
            meshRanges,
            ...(this.options.serviceAddresses && { serviceAddresses: this.options.serviceAddresses }),
            ...(this.options.mtu && { mtu: this.options.mtu }),
            fwmark: WIREGUARD_FWMARK,
          },
          this.runner,
        );
        this.netKey = netKey;
      }
      const exit = config.exitNode;
      this.net.guard.setKillSwitch(
        exit && {
          exitNode: exit.name,
          resolvers: exit.resolvers,
          localResolvers: this.options.serviceAddresses?.map((a) => a.split('/')[0]!) ?? [DNS_SERVICE_ADDRESS],
          bypass: exit.bypass,
          lan: exit.allowLan ? await this.exitRouting.lanPrefixes() : [],
        },
      );
      await this.net.apply();
      if (!steady) await this.applyPeers(device, config);
      await this.options.router?.apply(
        config.router && {
          ...config.router,
          iface: this.options.iface,
          meshRanges: meshRanges.map((r) => prefixOrThrow(r)),
        },
      );
      await this.applyExitRouting(config);
      await this.applyGateway(config.gateway === true, meshRanges);
      this.lastConfig = config;
      if (this.handshakesDue) {
        await device.initiateHandshakes();
        this.handshakesDue = false;
      }
      this.steadyKey = steadyKey;
    });
  }

  /** The peers, and routes for their allowed IPs outside the mesh ranges. */
  private async applyPeers(device: WireGuardDevice, config: EngineConfig): Promise<void> {
    await device.applyPeers(config.peers);
    await this.net!.setPeerRoutes(config.peerRoutes);
  }

  /**
   * Opens the device ahead of the first apply, so starting wireguard-go overlaps with whatever
   * the caller waits for meanwhile (registration, the first map). No peers, no addresses yet.
   */
  prepare(): Promise<void> {
    return this.serial(async () => {
      await this.open();
    });
  }

  /** Points one peer at `endpoint` between applies (path trials); a no-op while no device runs. */
  setPeerEndpoint(publicKey: string, endpoint: string): Promise<void> {
    return this.device ? this.device.setEndpoint(publicKey, endpoint) : Promise.resolve();
  }

  /** The machine's addresses changed: peers must not keep sending from one that is gone. */
  rebind(): Promise<void> {
    return this.device ? this.device.rebind() : Promise.resolve();
  }

  /** Starts handshakes with these peers (default: all) now, e.g. over a relay path just put in place. */
  initiateHandshakes(publicKeys?: readonly string[]): Promise<void> {
    return this.serial(async () => {
      await this.device?.initiateHandshakes(publicKeys);
    });
  }

  /** Handshakes afresh with the peers that never completed one (see WireGuardDevice), now. */
  restartHandshakes(publicKeys?: readonly string[]): Promise<void> {
    return this.serial(async () => {
      await this.device?.restartHandshakes(publicKeys);
    });
  }

  /** Drops these peers' sessions and handshakes afresh now (see WireGuardDevice). */
  renewSessions(publicKeys: readonly string[]): Promise<void> {
    return this.serial(async () => {
      await this.device?.renewSessions(publicKeys);
    });
  }

  state(): Promise<DeviceState | undefined> {
    return this.device ? this.device.state() : Promise.resolve(undefined);
  }

  /**
   * Removes the device, its routes, addresses and filter. With `keepGuard`, mesh traffic stays
   * blocked from other interfaces (an agent that stops is not a node that left); `down` drops it too.
   */
  teardown(options: { keepGuard: boolean }): Promise<void> {
    return this.serial(async () => {
      const errors: unknown[] = [];
      const step = async (fn: () => Promise<void>) => fn().catch((e: unknown) => void errors.push(e));
      if (this.options.router) {
        const router = this.options.router;
        await step(() => router.remove());
      }
      await step(() => this.firewall.clear());
      this.filterApplied = undefined;
      await step(() => this.exitRouting.remove());
      this.exitRoutingMaybe = false;
      this.lastConfig = undefined;
      this.steadyKey = undefined;
      if (this.options.exitGateway) {
        const gateway = this.options.exitGateway;
        await step(() => gateway.remove());
      }
      this.gatewayKey = undefined;
      if (this.net) {
        const net = this.net;
        await step(() => net.routes.removeAll());
        await step(() => net.addresses.remove());
      }
      if (this.device) {
        const device = this.device;
        await step(() => device.close());
      }
      if (!options.keepGuard) await step(() => new LeakGuard(this.options.iface, undefined, this.runner).remove());
      this.device = undefined;
      this.net = undefined;
      this.netKey = '';
      if (errors.length > 0) throw errors[0];
    });
  }

  /** Into the tunnel only once the kill switch is in force (net.apply above); out again without it. */
  private async applyExitRouting(config: EngineConfig, force = false): Promise<void> {
    const exit = config.exitNode;
    if (exit) {
      await this.exitRouting.apply(
        {
          fwmark: WIREGUARD_FWMARK,
          families: new Set(exit.families),
          bypass: exit.bypass,
          allowLan: exit.allowLan,
          source: sourceAddresses(config.addresses),
        },
        force,
      );
      this.exitRoutingMaybe = true;
    } else if (this.exitRoutingMaybe) {
      await this.exitRouting.remove();
      this.exitRoutingMaybe = false;
    }
  }

  private async applyGateway(on: boolean, meshRanges: readonly string[]): Promise<void> {
    const key = on ? meshRanges.join(',') : '';
    if (key === this.gatewayKey) return;
    const ranges = meshRanges.map((r) => parsePrefix(r)).flatMap((p) => (p.ok ? [p.value] : []));
    if (on) await this.options.exitGateway?.apply(ranges);
    else await this.options.exitGateway?.remove();
    this.gatewayKey = key;
  }

  /** The exit node whose kill switch is in force on this machine, whoever installed it. */
  killSwitchInForce(): Promise<string | undefined> {
    return new LeakGuard(this.options.iface, undefined, this.runner).killSwitchInForce();
  }

  private async open(): Promise<WireGuardDevice> {
    if (!this.device) {
      this.device = await this.options.openDevice(() => void this.restore());
      this.handshakesDue = true;
    }
    return this.device;
  }

  private async applyFilter(filter: readonly FilterRule[], replicaAddresses: readonly string[]): Promise<void> {
    const text = JSON.stringify([filter, replicaAddresses]);
    if (text === this.filterApplied) return;
    await this.firewall.apply(filter, replicaAddresses);
    this.filterApplied = text;
  }

  /** wireguard-go came back empty and re-applied keys and peers; the new link needs the rest. */
  private restore(): Promise<void> {
    return this.serial(async () => {
      await this.net?.apply();
      // The table's mesh routes went with the old interface.
      if (this.lastConfig) await this.applyExitRouting(this.lastConfig, true);
      await this.device?.initiateHandshakes();
    }).catch((err: unknown) => this.options.onError?.('restore after wireguard-go restart', err));
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job, job);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** The node's own mesh address of each family (bare), from its host prefixes. */
function sourceAddresses(addresses: readonly string[]): { 4?: string; 6?: string } {
  const bare = addresses.map((a) => a.split('/')[0]!);
  const v4 = bare.find((a) => !a.includes(':'));
  const v6 = bare.find((a) => a.includes(':'));
  return { ...(v4 && { 4: v4 }), ...(v6 && { 6: v6 }) };
}
