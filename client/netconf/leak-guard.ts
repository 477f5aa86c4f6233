import { deleteNftTable, loadNftScript, nftQuote } from '../firewall/nft.ts';
import { run, type Runner } from '../system/run.ts';
import { routeDst, showRoutes } from './ip-json.ts';
import { formatPrefix, type Prefix } from '../../protocol/ip/prefix.ts';
import { prefixOrThrow } from './prefix.ts';
import { TRELLIS_ROUTE_PROTO } from './routes.ts';

/**
 * Fail closed: traffic for mesh addresses never leaves through another interface.
 *
 * Two layers, because each covers a hole of the other:
 *  1. an `unreachable` route for each mesh range with the largest metric. While the mesh
 *     interface is up its own routes win; when it is gone (wireguard-go crashed or restarts,
 *     `down` half done) the lookup ends here with EHOSTUNREACH instead of falling through to
 *     the default route and sending mesh traffic in clear to the LAN or the ISP;
 *  2. an nftables table that drops packets to mesh ranges leaving by any interface other than
 *     the mesh one (or loopback, for our own addresses). Routing cannot express that: a more
 *     specific route via eth0 (e.g. an ISP's CGNAT range overlapping 100.64.0.0/10), a policy
 *     rule pointing to another table, or a socket bound to eth0 would all bypass layer 1.
 *     It sits in the output and forward hooks, where the outgoing interface is known.
 * WireGuard's own encrypted UDP is exempt when the device marks it (`fwmark`): a peer's
 * endpoint may itself lie in 100.64.0.0/10 (two nodes behind the same carrier-grade NAT).
 * Caveat: other hosts on a network that itself uses 100.64.0.0/10 (CGNAT) become unreachable
 * from this node; that is the price of the guarantee, as with other mesh VPNs using that range.
 */
export const GUARD_TABLE = 'trellis_guard';
const UNREACHABLE_METRIC = '4294967295';

export function guardRuleset(iface: string, ranges: readonly Prefix[], fwmark?: number): string {
  const v4 = ranges.filter((r) => r.family === 4).map(formatPrefix);
  const v6 = ranges.filter((r) => r.family === 6).map(formatPrefix);
  const drops = [
    ...(v4.length ? [`ip daddr { ${v4.join(', ')} } counter drop`] : []),
    ...(v6.length ? [`ip6 daddr { ${v6.join(', ')} } counter drop`] : []),
  ];
  const chain = (hook: string) => [
    `  chain ${hook} {`,
    `    type filter hook ${hook} priority filter; policy accept;`,
    `    oifname { ${nftQuote(iface)}, "lo" } accept`,
    ...(fwmark ? [`    meta mark 0x${fwmark.toString(16)} accept`] : []),
    ...drops.map((d) => `    ${d}`),
    '  }',
  ];
  return [
    `add table inet ${GUARD_TABLE}`,
    `delete table inet ${GUARD_TABLE}`,
    `table inet ${GUARD_TABLE} {`,
    ...chain('output'),
    ...chain('forward'),
    '}',
    '',
  ].join('\n');
}

export class LeakGuard {
  constructor(
    readonly iface: string,
    readonly netns: string | undefined,
    private readonly runner: Runner = run,
    /** The fwmark the WireGuard device puts on its own UDP packets, if any. */
    private readonly fwmark?: number,
  ) {}

  /** Installs (or replaces) both layers for `ranges`. */
  async apply(ranges: readonly Prefix[]): Promise<void> {
    await loadNftScript(guardRuleset(this.iface, ranges, this.fwmark), this.netns, this.runner);
    await this.syncUnreachable(ranges);
  }

  async remove(): Promise<void> {
    await this.syncUnreachable([]);
    await deleteNftTable('inet', GUARD_TABLE, this.netns, this.runner);
  }

  private async syncUnreachable(ranges: readonly Prefix[]): Promise<void> {
    for (const family of [4, 6] as const) {
      const routes = await showRoutes(
        family,
        ['type', 'unreachable', 'proto', TRELLIS_ROUTE_PROTO],
        this.netns,
        this.runner,
      );
      const current = new Set(routes.map((r) => formatPrefix(prefixOrThrow(routeDst(family, r.dst)))));
      const wanted = new Set(ranges.filter((r) => r.family === family).map(formatPrefix));
      for (const dst of current) {
        if (!wanted.has(dst)) await this.route('del', dst);
      }
      for (const dst of wanted) {
        if (!current.has(dst)) await this.route('add', dst);
      }
    }
  }

  private route(op: 'add' | 'del', dst: string) {
    return this.runner(
      'ip',
      ['route', op, 'unreachable', dst, 'metric', UNREACHABLE_METRIC, 'proto', TRELLIS_ROUTE_PROTO],
      { netns: this.netns },
    );
  }
}
