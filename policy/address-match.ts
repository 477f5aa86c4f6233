/**
 * Does a filter's address list (IPs, CIDRs, `*`) cover an address? Lists come from compiled
 * rules and are shared between nodes, so each is parsed once.
 */
import { ALL_V4, ALL_V6, normalizeRanges, parseAddress, parsePrefix, prefixRange, type Range } from './ip.ts';

const parsed = new WeakMap<readonly string[], Range[]>();

export function rangesOf(list: readonly string[]): Range[] {
  let out = parsed.get(list);
  if (!out) {
    out = normalizeRanges(
      list.flatMap((text): Range[] => {
        if (text === '*') return [ALL_V4, ALL_V6];
        const p = parsePrefix(text);
        return p.ok ? [prefixRange(p.prefix)] : [];
      }),
    );
    parsed.set(list, out);
  }
  return out;
}

export function listCovers(list: readonly string[], address: string): boolean {
  const a = parseAddress(address);
  if (!a) return false;
  return rangesOf(list).some((r) => r.lo <= a.value && a.value <= r.hi);
}

/** Does a destination entry (`*`, an IP or a CIDR) cover the address? */
export function destinationCovers(ip: string, address: string): boolean {
  return listCovers(ip === '*' ? ['*'] : [ip], address);
}
