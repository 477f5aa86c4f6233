import { formatAddress, type Family } from '../../protocol/ip/address.ts';
import { formatPrefix } from '../../protocol/ip/prefix.ts';
import { familyRange, lineAddress, rangeAsPrefix, type Range } from '../../protocol/ip/range.ts';

/**
 * Address and port ranges as nftables writes set elements. Address ranges are on the address
 * library's number line (protocol/ip/range.ts); merging is the library's (range-set.ts).
 */

export function coversFamily(family: Family, merged: readonly Range[]): boolean {
  const all = familyRange(family);
  return merged.length === 1 && merged[0]!.lo === all.lo && merged[0]!.hi === all.hi;
}

/** An address range as nft writes it: an address, a prefix, or `first-last`. */
export function formatAddressRange(r: Range): string {
  if (r.lo === r.hi) return formatAddress(lineAddress(r.lo));
  const prefix = rangeAsPrefix(r);
  if (prefix) return formatPrefix(prefix);
  return `${formatAddress(lineAddress(r.lo))}-${formatAddress(lineAddress(r.hi))}`;
}

export function formatPortRange(r: Range): string {
  return r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`;
}
