/**
 * The address ranges the compiler needs to know: the mesh's own ranges (what `*` means as a
 * source) and the public internet (what autogroup:internet means through an exit node).
 */
import { formatPrefixOrHost, parsePrefix } from '../protocol/ip/prefix.ts';
import { mergeRanges, subtractRanges } from '../protocol/ip/range-set.ts';
import { ALL_V4, prefixRange, rangeToPrefixes, type Range } from '../protocol/ip/range.ts';

export interface MeshRanges {
  /** Prefixes that hold every node address. */
  include: string[];
  /** Prefixes inside `include` that are never node addresses. */
  exclude?: string[];
}

/**
 * Tailscale's ranges, so policies compile the same as there: CGNAT 100.64.0.0/10 without the
 * 100.115.92.0/23 that ChromeOS keeps for its VMs, and the fd7a:115c:a1e0::/48 ULA.
 */
export const DEFAULT_MESH: MeshRanges = {
  include: ['100.64.0.0/10', 'fd7a:115c:a1e0::/48'],
  exclude: ['100.115.92.0/23'],
};

function ranges(list: readonly string[]): Range[] {
  return list.map((text) => {
    const p = parsePrefix(text);
    if (!p.ok) throw new TypeError(`mesh range ${text}: ${p.error.message}`);
    return prefixRange(p.value);
  });
}

function toPrefixTexts(rs: Range[]): string[] {
  return rs.flatMap((r) => rangeToPrefixes(r).map(formatPrefixOrHost));
}

export function meshPrefixes(mesh: MeshRanges): string[] {
  return toPrefixTexts(subtractRanges(ranges(mesh.include), ranges(mesh.exclude ?? [])));
}

const NOT_INTERNET_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
];

/** Public IPv4 and global unicast IPv6: where traffic through an exit node goes. */
export const INTERNET_PREFIXES: readonly string[] = [
  ...toPrefixTexts(subtractRanges([ALL_V4], mergeRanges(ranges(NOT_INTERNET_V4)))),
  '2000::/3',
];
