import { z } from 'zod';
import { formatPrefix, type Prefix } from '../../protocol/ip/prefix.ts';
import { run, type Runner } from '../system/run.ts';
import { routeDst } from './ip-json.ts';
import { prefixOrThrow } from './prefix.ts';

/**
 * Everything into the tunnel while an exit node is selected, by policy routing as wg-quick does
 * it, for IPv4 and IPv6:
 *  - WireGuard marks its own UDP (the device's fwmark); every unmarked packet looks up
 *    EXIT_TABLE, whose default route is the mesh interface. Marked packets fall through to the
 *    main table and leave by the uplink: the tunnel never carries itself;
 *  - the agent's own connections to the control server and its relay cannot be marked (Node
 *    sockets have no SO_MARK), so their addresses look up the main table first;
 *  - with LAN access, `suppress_prefixlength 0` lets every main-table route but the default
 *    win (the LAN, other local networks), as wg-quick does; without, only those addresses do;
 *  - a family the exit node does not offer gets an `unreachable` default: applications fail
 *    at once instead of sending around the exit node (the kill switch would reject it anyway).
 * Rules and the table are kernel state: they stay when the agent dies, and then point into a
 * table whose mesh routes went with the interface; what is left leaves by the main table's
 * default route, where the kill switch (leak-guard.ts) rejects it.
 */
export const EXIT_TABLE = 29810;
/** ip rule preferences, below the main table's 32766; one per rule so each is found again. */
const PREF_BYPASS = 5200;
const PREF_LAN = 5210;
const PREF_TUNNEL = 5220;
const PREFS = [PREF_BYPASS, PREF_LAN, PREF_TUNNEL];

export interface ExitRoutes {
  /** The device's fwmark on WireGuard's own packets. */
  fwmark: number;
  /** Families the selected exit node routes (0.0.0.0/0, ::/0 in its allowed IPs). */
  families: ReadonlySet<4 | 6>;
  /** Addresses that stay on the main table (control server, relay). */
  bypass: readonly string[];
  allowLan: boolean;
  /** This node's mesh addresses, the source of what goes into the tunnel (not the DNS service address). */
  source: { 4?: string; 6?: string };
}

const Route = z.object({ dst: z.string(), dev: z.string().optional() });

export class ExitRouting {
  private applied: string | undefined;

  constructor(
    readonly iface: string,
    readonly netns: string | undefined,
    private readonly runner: Runner = run,
  ) {}

  /** Installs the rules and the table for both families; `force` redoes them (the interface was recreated). */
  async apply(spec: ExitRoutes, force = false): Promise<void> {
    const key = JSON.stringify({ ...spec, families: [...spec.families].sort() });
    if (key === this.applied && !force) return;
    for (const family of [4, 6] as const) {
      const ip = (args: string[]) => this.runner('ip', [`-${family}`, ...args], { netns: this.netns });
      await this.removeRules(family);
      if (spec.families.has(family))
        await ip(['route', 'replace', 'default', 'dev', this.iface, 'table', `${EXIT_TABLE}`]);
      else await ip(['route', 'replace', 'unreachable', 'default', 'table', `${EXIT_TABLE}`]);
      for (const a of spec.bypass.filter((b) => (family === 6) === b.includes(':')))
        await ip(['rule', 'add', 'pref', `${PREF_BYPASS}`, 'to', a, 'lookup', 'main']);
      if (spec.allowLan)
        await ip(['rule', 'add', 'pref', `${PREF_LAN}`, 'lookup', 'main', 'suppress_prefixlength', '0']);
      await ip(['rule', 'add', 'pref', `${PREF_TUNNEL}`, 'not', 'fwmark', `${spec.fwmark}`, 'lookup', `${EXIT_TABLE}`]);
    }
    this.applied = key;
  }

  /** Removes the rules and flushes the table; safe when nothing is installed. */
  async remove(): Promise<void> {
    for (const family of [4, 6] as const) {
      await this.removeRules(family);
      await this.runner('ip', [`-${family}`, 'route', 'flush', 'table', `${EXIT_TABLE}`], { netns: this.netns }).catch(
        () => undefined, // an empty table is "not found" for some iproute2 versions
      );
    }
    this.applied = undefined;
  }

  /**
   * The subnets directly connected to this machine's other interfaces (what --exit-node-allow-lan-access
   * lets through the kill switch), link-local excepted.
   */
  async lanPrefixes(): Promise<Prefix[]> {
    const out: Prefix[] = [];
    for (const family of [4, 6] as const) {
      const { stdout } = await this.runner(
        'ip',
        [`-${family}`, '-json', 'route', 'show', 'table', 'main', 'proto', 'kernel'],
        {
          netns: this.netns,
        },
      );
      for (const r of z.array(Route).parse(JSON.parse(stdout || '[]'))) {
        if (r.dev === this.iface || r.dev === 'lo') continue;
        const p = prefixOrThrow(routeDst(family, r.dst));
        if (p.bits === 0 || (family === 6 && formatPrefix(p).startsWith('fe80:'))) continue;
        out.push(p);
      }
    }
    return out;
  }

  private async removeRules(family: 4 | 6): Promise<void> {
    for (const pref of PREFS) {
      // One rule per call; a preference may hold several (one per bypass address).
      for (let i = 0; i < 64; i++) {
        const gone = await this.runner('ip', [`-${family}`, 'rule', 'del', 'pref', `${pref}`], {
          netns: this.netns,
        }).then(
          () => false,
          () => true,
        );
        if (gone) break;
      }
    }
  }
}
