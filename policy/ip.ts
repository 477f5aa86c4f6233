/**
 * IP addresses, prefixes and ranges in one number line, so that IPv4 and IPv6 can be compared,
 * merged and tested for overlap with the same code. IPv4 `a` sits at `a`; IPv6 `b` sits at
 * `V6_BASE + b`, far above every IPv4 value, so the two families never touch.
 */

export const V6_BASE = 1n << 128n;
const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;

export type Family = 4 | 6;

/** Inclusive interval on the unified number line. */
export interface Range {
  lo: bigint;
  hi: bigint;
}

export interface Prefix {
  family: Family;
  /** First address (host bits zero), on the unified line. */
  lo: bigint;
  bits: number;
}

export const ALL_V4: Range = { lo: 0n, hi: V4_MAX };
export const ALL_V6: Range = { lo: V6_BASE, hi: V6_BASE + V6_MAX };

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = (n << 8n) | BigInt(v);
  }
  return n;
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  let text = s;
  // An embedded IPv4 in the last 32 bits (::ffff:1.2.3.4) becomes two hex groups.
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    const v4 = parseV4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const group = (h: string): bigint[] | undefined => {
    if (h === '') return [];
    const out: bigint[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(BigInt('0x' + g));
    }
    return out;
  };
  const head = group(halves[0] ?? '');
  const rest = halves.length === 2 ? group(halves[1] ?? '') : [];
  if (!head || !rest) return undefined;
  const given = head.length + rest.length;
  let groups: bigint[];
  if (halves.length === 2) {
    if (given > 7) return undefined;
    groups = [...head, ...Array<bigint>(8 - given).fill(0n), ...rest];
  } else {
    if (given !== 8) return undefined;
    groups = head;
  }
  let n = 0n;
  for (const g of groups) n = (n << 16n) | g;
  return n;
}

/** Parses an IPv4 or IPv6 address (no zone, no brackets) to the unified line. */
export function parseAddress(s: string): { family: Family; value: bigint } | undefined {
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === undefined ? undefined : { family: 6, value: V6_BASE + v };
  }
  const v = parseV4(s);
  return v === undefined ? undefined : { family: 4, value: v };
}

export type PrefixParse = { ok: true; prefix: Prefix } | { ok: false; reason: string };

/** Parses `IP` (a single address) or `IP/BITS`; host bits must be zero. */
export function parsePrefix(s: string): PrefixParse {
  const slash = s.indexOf('/');
  const addrText = slash < 0 ? s : s.slice(0, slash);
  const addr = parseAddress(addrText);
  if (!addr) return { ok: false, reason: `"${addrText}" is not an IP address` };
  const max = addr.family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = s.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(b) || Number(b) > max) {
      return { ok: false, reason: `"/${b}" is not a prefix length for IPv${addr.family}` };
    }
    bits = Number(b);
  }
  const base = addr.family === 4 ? 0n : V6_BASE;
  const host = (1n << BigInt(max - bits)) - 1n;
  if ((addr.value - base) & host) {
    const canon = formatPrefix({ family: addr.family, lo: addr.value - ((addr.value - base) & host), bits });
    return { ok: false, reason: `"${s}" has host bits set; write ${canon}` };
  }
  return { ok: true, prefix: { family: addr.family, lo: addr.value, bits } };
}

export function prefixRange(p: Prefix): Range {
  const max = p.family === 4 ? 32 : 128;
  return { lo: p.lo, hi: p.lo + (1n << BigInt(max - p.bits)) - 1n };
}

export function overlaps(a: Range, b: Range): boolean {
  return a.lo <= b.hi && b.lo <= a.hi;
}

export function contains(outer: Range, inner: Range): boolean {
  return outer.lo <= inner.lo && inner.hi <= outer.hi;
}

function formatV4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
}

function formatV6(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first if tied.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
}

export function formatAddress(value: bigint): string {
  return value >= V6_BASE ? formatV6(value - V6_BASE) : formatV4(value);
}

/** `a.b.c.d` for a host prefix, else `a.b.c.d/n` (the form Tailscale filters use). */
export function formatPrefix(p: Prefix): string {
  const max = p.family === 4 ? 32 : 128;
  const addr = formatAddress(p.lo);
  return p.bits === max ? addr : `${addr}/${p.bits}`;
}

/** The fewest prefixes that cover exactly `r` (which must lie within one family). */
export function rangeToPrefixes(r: Range): Prefix[] {
  const family: Family = r.lo >= V6_BASE ? 6 : 4;
  const base = family === 4 ? 0n : V6_BASE;
  const max = family === 4 ? 32 : 128;
  const out: Prefix[] = [];
  let lo = r.lo - base;
  const hi = r.hi - base;
  while (lo <= hi) {
    let size = 0;
    while (size < max && (lo & ((1n << BigInt(size + 1)) - 1n)) === 0n && lo + (1n << BigInt(size + 1)) - 1n <= hi)
      size++;
    out.push({ family, lo: lo + base, bits: max - size });
    lo += 1n << BigInt(size);
  }
  return out;
}

/** Sorts and merges ranges that overlap or touch. */
export function normalizeRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.lo <= last.hi + 1n) {
      if (r.hi > last.hi) last.hi = r.hi;
    } else out.push({ lo: r.lo, hi: r.hi });
  }
  return out;
}

/** `a` minus `b`, both normalized. */
export function subtractRanges(a: Range[], b: Range[]): Range[] {
  let out = normalizeRanges(a);
  for (const cut of normalizeRanges(b)) {
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

/** Is every value of `inner` inside the union `outer` (normalized)? */
export function rangesCover(outer: Range[], inner: Range): boolean {
  return subtractRanges([inner], outer).length === 0;
}

export function isExitRoute(prefix: string): boolean {
  return prefix === '0.0.0.0/0' || prefix === '::/0';
}
