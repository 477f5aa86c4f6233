import { isIP } from 'node:net';
import type { FilterRule } from '../../protocol/filter.ts';
import type { Family } from '../../protocol/ip/address.ts';
import { parsePrefix, type Prefix } from '../../protocol/ip/prefix.ts';
import { mergeRanges } from '../../protocol/ip/range-set.ts';
import { prefixRange, type Range } from '../../protocol/ip/range.ts';
import { FirewallError } from './errors.ts';
import { coversFamily, formatAddressRange, formatPortRange } from './intervals.ts';
import { nftQuote } from './nft.ts';

/**
 * The node's inbound filter (wire FilterRule[]) as one nftables script, pure text, no I/O.
 *  1. the script deletes and recreates its own table, so `nft -f` swaps the whole ruleset in
 *     one transaction: there is never a moment with half the rules, or none;
 *  2. only packets arriving on the mesh interface are judged (input and forward hooks, the
 *     latter for subnet routes behind this node); everything else passes untouched;
 *  3. replies to flows this node opened pass (ct established,related), invalid ones drop;
 *  4. a new flow passes only if some rule matches its source, protocol, destination and port;
 *     ICMP echo counts as a new flow, so ping needs a rule with protocol 1 or 58;
 *  5. the rest is dropped (default deny).
 * Sources go into named interval sets (one per distinct source list), so a rule naming a
 * thousand peers is one set lookup, not a thousand rules.
 */
interface CompileOptions {
  /** The mesh interface. */
  iface: string;
  /** Table name in family `inet`; default `trellis`. */
  table?: string;
  /**
   * UDP port of the agents' path probe (client/paths/echo.ts), accepted from any peer: it only
   * echoes 16 bytes back, and without it no peer could measure its path to this node.
   */
  probePort?: number;
  /**
   * Addresses of the agent's own services (mesh DNS), for this machine alone: a local address
   * answers on every interface, so packets to them that did not come over loopback (from the
   * LAN, or a peer's crafted destination) are dropped.
   */
  localOnly?: readonly string[];
  /**
   * Addresses of mesh services this node serves as a replica (client/serve/). A connection
   * attempt (TCP SYN) to one of them that no socket listens for is dropped instead of refused:
   * while a dead replica's proxy is being noticed, the client's TCP sends its SYN again a
   * second later, to the replica the election has moved the service to meanwhile, where a
   * refusal would have failed the command at once.
   */
  replicaAddresses?: readonly string[];
}

export const DEFAULT_TABLE = 'trellis';

/** Protocols whose packets carry ports (TCP, UDP, SCTP); the rest match on protocol alone. */
const PORTED = new Set([6, 17, 132]);
const ICMP4 = 1;
const ICMP6 = 58;

type Addresses = 'any' | Range[]; // merged ranges of one family

interface Destination {
  family: Family | 'any';
  address: Range | 'any';
  ports: Range[];
}

export function compileFilter(rules: readonly FilterRule[], options: CompileOptions): string {
  const table = options.table ?? DEFAULT_TABLE;
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(table)) throw new TypeError(`invalid nft table name ${JSON.stringify(table)}`);
  const iface = nftQuote(options.iface);
  const sets = new SetRegistry();
  const statements: string[] = [];
  rules.forEach((rule, i) => statements.push(...compileRule(rule, `rules[${i}]`, sets)));
  return [
    `add table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    ...sets.declarations(),
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    ...localOnlyDrops(options.localOnly ?? []),
    // For this node only: never forwarded to what lies behind it (subnet routes, containers).
    ...(options.probePort !== undefined
      ? [`    iifname ${iface} udp dport ${probePort(options.probePort)} accept`]
      : []),
    ...replicaSynJumps(iface, options.replicaAddresses ?? []),
    `    iifname ${iface} jump mesh_inbound`,
    '  }',
    ...(options.replicaAddresses?.length
      ? [
          '  chain replica_syn {',
          // A listening socket (of either kind) takes it; without one, silence rather than a reset.
          '    socket transparent 0 return',
          '    socket transparent 1 return',
          '    counter drop',
          '  }',
        ]
      : []),
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    iifname ${iface} jump mesh_inbound`,
    '  }',
    '  chain mesh_inbound {',
    '    ct state established,related accept',
    '    ct state invalid drop',
    ...statements.map((s) => `    ${s} accept`),
    '    counter drop',
    '  }',
    '}',
    '',
  ].join('\n');
}

function replicaSynJumps(iface: string, addresses: readonly string[]): string[] {
  for (const a of addresses) if (isIP(a) === 0) throw new TypeError(`replicaAddresses: "${a}" is not an IP address`);
  return (
    [
      [4, 'ip'],
      [6, 'ip6'],
    ] as const
  )
    .map(([family, keyword]) => [keyword, addresses.filter((a) => isIP(a) === family)] as const)
    .filter(([, list]) => list.length > 0)
    .map(
      ([keyword, list]) =>
        `    iifname ${iface} ${keyword} daddr { ${list.join(', ')} } tcp flags & (syn | ack) == syn jump replica_syn`,
    );
}

function localOnlyDrops(addresses: readonly string[]): string[] {
  const byFamily = (v6: boolean) => addresses.filter((a) => a.includes(':') === v6);
  for (const a of addresses) if (isIP(a) === 0) throw new TypeError(`localOnly: "${a}" is not an IP address`);
  return (
    [
      [false, 'ip'],
      [true, 'ip6'],
    ] as const
  )
    .filter(([v6]) => byFamily(v6).length > 0)
    .map(([v6, family]) => `    ${family} daddr { ${byFamily(v6).join(', ')} } iifname != "lo" drop`);
}

function probePort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`invalid probe port ${port}`);
  return port;
}

function compileRule(rule: FilterRule, where: string, sets: SetRegistry): string[] {
  if (rule.dstPorts.length === 0) return []; // capability-only grants carry no packet rule
  const sources = parseSources(rule.srcIPs, where);
  const destinations = parseDestinations(rule, where);
  const protocols = [...new Set(rule.ipProto)].sort((a, b) => a - b);
  protocols.forEach((p, j) => {
    if (!Number.isInteger(p) || p < 0 || p > 255)
      throw new FirewallError(`protocol ${p} is not 0-255`, `${where}.ipProto[${j}]`);
  });
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    const src = sources[family];
    if (src !== 'any' && src.length === 0) continue;
    const srcMatch =
      src === 'any' || coversFamily(family, src) ? undefined : `${ipKeyword(family)} saddr @${sets.name(family, src)}`;
    const ported = protocols.filter((p) => PORTED.has(p));
    const portless = protocols.filter((p) => !PORTED.has(p) && p !== (family === 4 ? ICMP6 : ICMP4));
    for (const dst of destinations) {
      if (dst.family !== 'any' && dst.family !== family) continue;
      const dstMatch =
        dst.address === 'any' ? undefined : `${ipKeyword(family)} daddr ${formatAddressRange(dst.address)}`;
      // Without any address match the statement would apply to both families.
      const base = [srcMatch ?? (dstMatch ? undefined : `meta nfproto ipv${family}`), dstMatch]
        .filter(Boolean)
        .join(' ');
      if (ported.length > 0) {
        const allPorts = dst.ports.length === 1 && dst.ports[0]!.lo === 0n && dst.ports[0]!.hi === 65535n; // no port match needed
        const portMatch = allPorts ? '' : ` th dport ${setOrSingle(dst.ports.map(formatPortRange))}`;
        out.push(`${base} meta l4proto ${setOrSingle(ported.map(String))}${portMatch}`);
      }
      if (portless.length > 0) out.push(`${base} meta l4proto ${setOrSingle(portless.map(String))}`);
    }
  }
  return out;
}

function parseSources(srcIPs: readonly string[], where: string): Record<Family, Addresses> {
  if (srcIPs.includes('*')) return { 4: 'any', 6: 'any' };
  const by: Record<Family, Range[]> = { 4: [], 6: [] };
  srcIPs.forEach((s, j) => {
    const p = prefix(s, `${where}.srcIPs[${j}]`);
    by[p.family].push(prefixRange(p));
  });
  return { 4: mergeRanges(by[4]), 6: mergeRanges(by[6]) };
}

/** One entry per distinct destination address, with the union of its port ranges. */
function parseDestinations(rule: FilterRule, where: string): Destination[] {
  const byAddress = new Map<string, Destination>();
  rule.dstPorts.forEach((d, j) => {
    const at = `${where}.dstPorts[${j}]`;
    const { first, last } = d.ports;
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last > 65535 || first > last) {
      throw new FirewallError(`port range ${first}-${last} is not within 0-65535 with first <= last`, `${at}.ports`);
    }
    const p = d.ip === '*' ? undefined : prefix(d.ip, `${at}.ip`);
    const key = p ? `${p.family}:${p.address}/${p.bits}` : '*';
    const entry = byAddress.get(key) ?? {
      family: p?.family ?? 'any',
      address: p ? prefixRange(p) : 'any',
      ports: [],
    };
    entry.ports = mergeRanges([...entry.ports, { lo: BigInt(first), hi: BigInt(last) }]);
    byAddress.set(key, entry);
  });
  return [...byAddress.values()];
}

function prefix(text: string, where: string): Prefix {
  const p = parsePrefix(text);
  if (!p.ok) throw new FirewallError(p.error.message, where);
  return p.value;
}

const ipKeyword = (family: Family) => (family === 4 ? 'ip' : 'ip6');

const setOrSingle = (items: string[]) => (items.length === 1 ? items[0]! : `{ ${items.join(', ')} }`);

/** Named source sets, shared by rules with the same sources. */
class SetRegistry {
  private readonly byContent = new Map<string, { name: string; family: Family; elements: string[] }>();

  name(family: Family, ranges: readonly Range[]): string {
    const elements = ranges.map(formatAddressRange);
    const key = `${family}|${elements.join(',')}`;
    let set = this.byContent.get(key);
    if (!set) {
      set = { name: `src${family}_${this.byContent.size}`, family, elements };
      this.byContent.set(key, set);
    }
    return set.name;
  }

  declarations(): string[] {
    return [...this.byContent.values()].flatMap((s) => [
      `  set ${s.name} {`,
      `    type ${s.family === 4 ? 'ipv4_addr' : 'ipv6_addr'}; flags interval;`,
      `    elements = { ${s.elements.join(', ')} }`,
      '  }',
    ]);
  }
}
