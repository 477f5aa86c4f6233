import { deleteNftTable, listNftTable, loadNftScript, nftQuote } from '../firewall/nft.ts';
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

/**
 * The kill switch, while an exit node is selected (client/exit-node/README.md): nothing leaves
 * by an interface other than the mesh one but the tunnel's own traffic, and DNS goes to the
 * exit node. It lives in the guard's table, so it has the guard's life: a stopped, crashed or
 * SIGKILLed agent leaves it in force (nftables state belongs to the kernel, not to a process),
 * and only `down` or deselecting the exit node (an apply without it) removes it.
 */
export interface KillSwitch {
  /** The exit node's name, written into the table (a restarted agent and `status` read it back). */
  exitNode: string;
  /** The exit node's mesh addresses: every DNS query goes there, and only there. */
  resolvers: readonly string[];
  /** Local addresses DNS may also go to (the agent's own mesh DNS, 100.100.100.100). */
  localResolvers: readonly string[];
  /** Addresses the agent itself reaches outside the tunnel: the control server and its relay. */
  bypass: readonly string[];
  /** Directly connected subnets, with --exit-node-allow-lan-access; empty otherwise. */
  lan: readonly Prefix[];
}

export const KILL_SWITCH_COMMENT = 'trellis kill switch for exit node';
/** DNS over UDP/TCP 53 is redirected to the exit node; DNS over TLS (853) can only be refused. */
const DNS_PORT = 53;
const DOT_PORT = 853;
/** Neighbour discovery and MLD: the link itself, never data; without them IPv6 on the LAN breaks. */
const ND_TYPES = 'nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld2-listener-report';

export function guardRuleset(iface: string, ranges: readonly Prefix[], fwmark?: number, kill?: KillSwitch): string {
  const v4 = ranges.filter((r) => r.family === 4).map(formatPrefix);
  const v6 = ranges.filter((r) => r.family === 6).map(formatPrefix);
  const drops = [
    ...(v4.length ? [`ip daddr { ${v4.join(', ')} } counter drop`] : []),
    ...(v6.length ? [`ip6 daddr { ${v6.join(', ')} } counter drop`] : []),
  ];
  const mark = fwmark ? [`meta mark 0x${fwmark.toString(16)} accept`] : [];
  const chain = (hook: string) => [
    `  chain ${hook} {`,
    `    type filter hook ${hook} priority filter; policy accept;`,
    ...(kill
      ? [
          '    oifname "lo" accept',
          ...(hook === 'output' ? mark : []).map((r) => `    ${r}`),
          // Redirected DNS (dns_redirect): the hook still names the interface routed before the
          // redirect; where it really leaves is checked in postrouting below.
          ...dnsRedirected(kill).map((r) => `    ${r}`),
          ...killSwitchDns(kill).map((r) => `    ${r}`),
          `    oifname ${nftQuote(iface)} accept`,
        ]
      : [`    oifname { ${nftQuote(iface)}, "lo" } accept`, ...mark.map((r) => `    ${r}`)]),
    ...drops.map((d) => `    ${d}`),
    ...(kill ? killSwitchRest(kill, hook === 'output').map((r) => `    ${r}`) : []),
    '  }',
  ];
  return [
    `add table inet ${GUARD_TABLE}`,
    `delete table inet ${GUARD_TABLE}`,
    `table inet ${GUARD_TABLE} {`,
    ...(kill ? [`  comment ${nftString(`${KILL_SWITCH_COMMENT} ${kill.exitNode}`)}`] : []),
    ...chain('output'),
    ...chain('forward'),
    ...(kill ? dnsRedirect(iface, kill, fwmark) : []),
    '}',
    '',
  ].join('\n');
}

/** DNS the redirect sent to the exit node; postrouting (dns_leaving) makes sure it leaves by the tunnel. */
function dnsRedirected(kill: KillSwitch): string[] {
  const out: string[] = [];
  for (const [family, keyword] of [
    [4, 'ip'],
    [6, 'ip6'],
  ] as const) {
    const to = byFamily(kill.resolvers, family);
    if (to.length)
      out.push(
        `ct status dnat ${keyword} daddr { ${to.join(', ')} } meta l4proto { tcp, udp } th dport ${DNS_PORT} accept`,
      );
  }
  return out;
}

/** DNS to anything but the exit node (after the redirect below) and DNS over TLS are refused. */
function killSwitchDns(kill: KillSwitch): string[] {
  const out: string[] = [];
  for (const [family, keyword] of [
    [4, 'ip'],
    [6, 'ip6'],
  ] as const) {
    const allowed = byFamily([...kill.resolvers, ...kill.localResolvers], family);
    const not = allowed.length ? ` ${keyword} daddr != { ${allowed.join(', ')} }` : ` meta nfproto ipv${family}`;
    out.push(`meta l4proto { tcp, udp } th dport { ${DNS_PORT}, ${DOT_PORT} }${not} counter reject`);
  }
  return out;
}

/**
 * After the mesh interface: the agent's own way out, the link's housekeeping, the LAN if
 * allowed, and a reject for everything else (rejected, not dropped: an application learns at
 * once that the way is closed instead of waiting for a timeout, IPv6 included).
 */
function killSwitchRest(kill: KillSwitch, output: boolean): string[] {
  const out: string[] = [];
  const set = (items: readonly string[]) => `{ ${items.join(', ')} }`;
  if (output) {
    const b4 = byFamily(kill.bypass, 4);
    const b6 = byFamily(kill.bypass, 6);
    if (b4.length) out.push(`ip daddr ${set(b4)} accept`);
    if (b6.length) out.push(`ip6 daddr ${set(b6)} accept`);
    out.push('udp sport 68 udp dport 67 accept', 'udp sport 546 udp dport 547 accept'); // DHCP keeps the uplink's address
    out.push(`icmpv6 type { ${ND_TYPES} } ip6 daddr { fe80::/10, ff02::/16 } accept`);
    out.push(`icmpv6 type { ${ND_TYPES} } ip6 hoplimit 255 accept`);
  }
  const lan4 = kill.lan.filter((p) => p.family === 4).map(formatPrefix);
  const lan6 = kill.lan.filter((p) => p.family === 6).map(formatPrefix);
  if (lan4.length) out.push(`ip daddr ${set(lan4)} accept`);
  if (lan6.length) out.push(`ip6 daddr ${set(lan6)} accept`);
  out.push('counter reject with icmpx admin-prohibited');
  return out;
}

/**
 * Queries an application sends to whatever resolver it knows (the LAN's, one in resolv.conf)
 * are sent to the exit node instead, so names keep resolving and none leaks; the source is then
 * rewritten to the mesh address, which the exit node's filter knows.
 */
function dnsRedirect(iface: string, kill: KillSwitch, fwmark?: number): string[] {
  const rules: string[] = [];
  for (const [family, keyword] of [
    [4, 'ip'],
    [6, 'ip6'],
  ] as const) {
    const target = byFamily(kill.resolvers, family)[0];
    if (!target) continue;
    const keep = byFamily([...kill.resolvers, ...kill.localResolvers], family);
    rules.push(
      `    ${keyword} daddr != { ${keep.join(', ')} } meta l4proto { tcp, udp } th dport ${DNS_PORT} dnat ${keyword} to ${target}`,
    );
  }
  return [
    '  chain dns_redirect {',
    '    type nat hook output priority -100; policy accept;',
    ...(fwmark ? [`    meta mark 0x${fwmark.toString(16)} return`] : []),
    ...rules,
    '  }',
    '  chain dns_source {',
    '    type nat hook postrouting priority 100; policy accept;',
    `    oifname ${nftQuote(iface)} ct status dnat masquerade`,
    '  }',
    '  chain dns_leaving {',
    '    type filter hook postrouting priority filter; policy accept;',
    `    ct status dnat meta l4proto { tcp, udp } th dport ${DNS_PORT} oifname != ${nftQuote(iface)} oifname != "lo" counter drop`,
    '  }',
  ];
}

const byFamily = (addresses: readonly string[], family: 4 | 6) =>
  addresses.filter((a) => (family === 6) === a.includes(':')).map((a) => a.replace(/\/(32|128)$/, ''));

/** A comment nft reads back as it was written (names are DNS-safe; anything else is dropped). */
function nftString(text: string): string {
  return `"${text.replace(/[^A-Za-z0-9 ._:-]/g, '')}"`;
}

/** The exit node the kill switch in `table` (nft's listing) was set for; undefined: none is set. */
export function killSwitchIn(table: string | undefined): string | undefined {
  const m = table && new RegExp(`comment "${KILL_SWITCH_COMMENT} ([^"]*)"`).exec(table);
  return m ? m[1] : undefined;
}

export class LeakGuard {
  constructor(
    readonly iface: string,
    readonly netns: string | undefined,
    private readonly runner: Runner = run,
    /** The fwmark the WireGuard device puts on its own UDP packets, if any. */
    private readonly fwmark?: number,
  ) {}

  private kill: KillSwitch | undefined;

  /** The kill switch every later apply installs with the guard (undefined: none). */
  setKillSwitch(kill: KillSwitch | undefined): void {
    this.kill = kill;
  }

  /** Installs (or replaces, in one transaction) both layers for `ranges`, with the kill switch if set. */
  async apply(ranges: readonly Prefix[]): Promise<void> {
    await loadNftScript(guardRuleset(this.iface, ranges, this.fwmark, this.kill), this.netns, this.runner);
    await this.syncUnreachable(ranges);
  }

  /** The exit node whose kill switch is in force on this machine now (left by an earlier agent too). */
  async killSwitchInForce(): Promise<string | undefined> {
    return killSwitchIn(await listNftTable('inet', GUARD_TABLE, this.netns, this.runner));
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
