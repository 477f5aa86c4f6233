import { familyBits, type Address, type Family } from './address.ts';
import { firstAddress, lastAddress, type Prefix } from './prefix.ts';

/**
 * Inclusive ranges of integers. For addresses the integers are places on one number line that
 * holds both families: IPv4 `a` sits at `a`, IPv6 `b` at `V6_BASE + b`, far above every IPv4
 * value, so lists of either family sort, merge and test for overlap with the same code and a
 * range never spans both. Ports use the same ranges with their own numbers.
 */
export interface Range {
  readonly lo: bigint;
  readonly hi: bigint;
}

const V6_BASE = 1n << 128n;

export const ALL_V4: Range = { lo: 0n, hi: (1n << 32n) - 1n };
export const ALL_V6: Range = { lo: V6_BASE, hi: V6_BASE + (1n << 128n) - 1n };

const base = (family: Family): bigint => (family === 4 ? 0n : V6_BASE);

export const lineValue = (a: Address): bigint => base(a.family) + a.value;

/** The address at a place on the line. */
export function lineAddress(value: bigint): Address {
  return value >= V6_BASE ? { family: 6, value: value - V6_BASE } : { family: 4, value };
}

export const familyRange = (family: Family): Range => (family === 4 ? ALL_V4 : ALL_V6);

export function prefixRange(p: Prefix): Range {
  return { lo: base(p.family) + firstAddress(p), hi: base(p.family) + lastAddress(p) };
}

export const overlaps = (a: Range, b: Range): boolean => a.lo <= b.hi && b.lo <= a.hi;

export const contains = (outer: Range, inner: Range): boolean => outer.lo <= inner.lo && inner.hi <= outer.hi;

/** The fewest prefixes that cover exactly an address range (which lies within one family). */
export function rangeToPrefixes(r: Range): Prefix[] {
  const family: Family = r.lo >= V6_BASE ? 6 : 4;
  const max = familyBits(family);
  const out: Prefix[] = [];
  let lo = r.lo - base(family);
  const hi = r.hi - base(family);
  while (lo <= hi) {
    // The largest aligned block that starts at `lo` and ends within the range.
    let size = 0;
    while (size < max && (lo & ((1n << BigInt(size + 1)) - 1n)) === 0n && lo + (1n << BigInt(size + 1)) - 1n <= hi)
      size++;
    out.push({ family, address: lo, bits: max - size });
    lo += 1n << BigInt(size);
  }
  return out;
}

/** The prefix that is exactly this range, if there is one. */
export function rangeAsPrefix(r: Range): Prefix | undefined {
  const prefixes = rangeToPrefixes(r);
  return prefixes.length === 1 ? prefixes[0] : undefined;
}
