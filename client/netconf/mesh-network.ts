import { run, type Runner } from '../system/run.ts';
import { InterfaceAddresses, DEFAULT_MESH_MTU } from './addresses.ts';
import { NetconfError } from './errors.ts';
import { LeakGuard } from './leak-guard.ts';
import { parsePrefix, prefixCovers, type Prefix } from '../../protocol/ip/prefix.ts';
import { MeshRoutes, type RouteChanges } from './routes.ts';

/**
 * Everything the node's IP stack needs for the mesh, on one interface:
 *  1. the node's addresses (IPv4 /32, IPv6 /128), MTU (1280 unless told) and link up;
 *  2. a route per mesh range (100.64.0.0/10 and the mesh's ULA /48) via the interface, plus a
 *     route per peer allowed IP that the mesh ranges do not already cover (subnet routes);
 *  3. the leak guard (leak-guard.ts) so mesh traffic never leaves by another interface.
 * `apply` is idempotent and is also how the owner restores an interface that was recreated
 * (wireguard-go restarted). `teardown` removes only what this created.
 */
interface MeshNetConfig {
  iface: string;
  netns?: string;
  /** The node's own addresses: `100.64.0.7/32` (or bare), `fd7a:115c:a1e0::7/128`. */
  addresses: readonly string[];
  /** The mesh's ranges, e.g. `100.64.0.0/10` and `fd7a:115c:a1e0::/48`. */
  meshRanges: readonly string[];
  /** More local host addresses for the agent's own services (mesh DNS), never a node's. */
  serviceAddresses?: readonly string[];
  mtu?: number;
  /** The device's fwmark (DeviceConfig.fwmark): its UDP may reach endpoints inside mesh ranges. */
  fwmark?: number;
}

export class MeshNetwork {
  readonly addresses: InterfaceAddresses;
  readonly routes: MeshRoutes;
  readonly guard: LeakGuard;
  private readonly own: Prefix[];
  private readonly ranges: Prefix[];
  private peerPrefixes: Prefix[] = [];
  private readonly mtu: number;

  constructor(config: MeshNetConfig, runner: Runner = run) {
    const hostPrefix = (a: string, where: string) => {
      const p = prefixAt(a, where);
      if (p.bits !== (p.family === 4 ? 32 : 128))
        throw new NetconfError(
          'netconf.invalid_config',
          `${where}: "${a}" must be a single address (/32 or /128)`,
          where,
        );
      return p;
    };
    this.own = [
      ...config.addresses.map((a, i) => hostPrefix(a, `addresses[${i}]`)),
      ...(config.serviceAddresses ?? []).map((a, i) => hostPrefix(a, `serviceAddresses[${i}]`)),
    ];
    this.ranges = config.meshRanges.map((r, i) => prefixAt(r, `meshRanges[${i}]`));
    this.mtu = config.mtu ?? DEFAULT_MESH_MTU;
    if (!Number.isInteger(this.mtu) || this.mtu < 1280 || this.mtu > 65535) {
      throw new NetconfError('netconf.invalid_config', `mtu must be 1280-65535, got ${config.mtu}`, 'mtu');
    }
    this.addresses = new InterfaceAddresses(config.iface, config.netns, runner);
    this.routes = new MeshRoutes(config.iface, config.netns, runner);
    const { fwmark } = config;
    if (fwmark !== undefined && (!Number.isInteger(fwmark) || fwmark < 1 || fwmark > 0xffffffff)) {
      throw new NetconfError('netconf.invalid_config', `fwmark must be 1-4294967295, got ${fwmark}`, 'fwmark');
    }
    this.guard = new LeakGuard(config.iface, config.netns, runner, fwmark);
  }

  /** Guard first: from the first moment, mesh traffic has nowhere else to go. */
  async apply(): Promise<RouteChanges> {
    await this.guard.apply(this.ranges);
    await this.addresses.apply(this.own, this.mtu);
    return this.routes.sync(this.wantedRoutes());
  }

  /**
   * Routes for peers' allowed IPs; those inside a mesh range are already routed. Default
   * routes (an exit node's 0.0.0.0/0, ::/0) are left out: routing everything into the tunnel
   * needs policy routing that keeps WireGuard's own packets off it, which is not done here.
   */
  async setPeerRoutes(allowedIPs: readonly string[]): Promise<RouteChanges> {
    this.peerPrefixes = allowedIPs.map((a, i) => prefixAt(a, `allowedIPs[${i}]`)).filter((p) => p.bits > 0);
    return this.routes.sync(this.wantedRoutes());
  }

  /** Removes routes, addresses and the guard (in that order: the guard goes last). */
  async teardown(): Promise<void> {
    await this.routes.removeAll();
    await this.addresses.remove();
    await this.guard.remove();
  }

  private wantedRoutes(): Prefix[] {
    const byText = new Map<string, Prefix>();
    for (const p of [
      ...this.ranges,
      ...this.peerPrefixes.filter((p) => !this.ranges.some((r) => prefixCovers(r, p))),
    ]) {
      byText.set(`${p.family}/${p.address}/${p.bits}`, p);
    }
    return [...byText.values()];
  }
}

function prefixAt(text: string, where: string): Prefix {
  const p = parsePrefix(text);
  if (!p.ok) throw new NetconfError('netconf.invalid_config', `${where}: ${p.error.message}`, where);
  return p.value;
}
