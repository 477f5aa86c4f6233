import { familyBits, formatAddress, formatPrefix, lastAddress, type Prefix } from '../netconf/prefix.ts';

/**
 * Closed intervals of addresses or ports, merged so that nftables interval sets never see
 * overlapping elements (which it rejects) and rule sets stay as small as the input allows.
 */
export type Interval = readonly [bigint, bigint];

export function mergeIntervals(list: readonly Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Array<[bigint, bigint]> = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1] + 1n) {
      if (e > last[1]) last[1] = e;
    } else {
      out.push([s, e]);
    }
  }
  return out;
}

export const prefixInterval = (p: Prefix): Interval => [p.address, lastAddress(p)];

export function coversFamily(family: 4 | 6, merged: readonly Interval[]): boolean {
  const all = (1n << BigInt(familyBits(family))) - 1n;
  return merged.length === 1 && merged[0]![0] === 0n && merged[0]![1] === all;
}

/** An address interval as nft writes it: an address, a prefix, or `first-last`. */
export function formatAddressInterval(family: 4 | 6, [s, e]: Interval): string {
  if (s === e) return formatAddress(family, s);
  const size = e - s + 1n;
  const bits = familyBits(family) - (size.toString(2).length - 1);
  if ((size & (size - 1n)) === 0n && s % size === 0n) return formatPrefix({ family, address: s, bits });
  return `${formatAddress(family, s)}-${formatAddress(family, e)}`;
}

export function formatPortInterval([s, e]: Interval): string {
  return s === e ? String(s) : `${s}-${e}`;
}
