import { overlaps, type Range } from './range.ts';

/**
 * Sets of integers as sorted lists of disjoint ranges that do not touch: the smallest list for
 * a set, and the form interval sets in nftables need (it refuses overlapping elements).
 */

/** Sorts and merges ranges that overlap or touch. */
export function mergeRanges(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: Array<{ lo: bigint; hi: bigint }> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.lo <= last.hi + 1n) {
      if (r.hi > last.hi) last.hi = r.hi;
    } else out.push({ lo: r.lo, hi: r.hi });
  }
  return out;
}

/** `a` minus `b`, merged. */
export function subtractRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  let out = mergeRanges(a);
  for (const cut of mergeRanges(b)) {
    const next: Range[] = [];
    for (const r of out) {
      if (!overlaps(r, cut)) {
        next.push(r);
        continue;
      }
      if (r.lo < cut.lo) next.push({ lo: r.lo, hi: cut.lo - 1n });
      if (r.hi > cut.hi) next.push({ lo: cut.hi + 1n, hi: r.hi });
    }
    out = next;
  }
  return out;
}

/** Is `value` in one of the ranges? */
export const rangesHave = (ranges: readonly Range[], value: bigint): boolean =>
  ranges.some((r) => r.lo <= value && value <= r.hi);
