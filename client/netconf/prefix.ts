import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP addresses and prefixes as numbers, so callers can compare, merge and print them in one
 * canonical form. A bare address is a host prefix (/32 or /128).
 */
export interface Prefix {
  family: 4 | 6;
  /** The network address (host bits cleared). */
  address: bigint;
  bits: number;
}

export class PrefixError extends Error {
  override readonly name = 'PrefixError';
  readonly code = 'netconf.invalid_prefix';
}

export const familyBits = (family: 4 | 6): number => (family === 4 ? 32 : 128);

/** Parses `100.64.0.7`, `100.64.0.0/10`, `fd7a::7/128`; host bits must be clear unless `loose`. */
export function parsePrefix(text: string, options: { loose?: boolean } = {}): Prefix {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const family = isIPv4(addrText) ? 4 : isIPv6(addrText) && !addrText.includes('%') ? 6 : undefined;
  if (family === undefined) throw new PrefixError(`"${text}" is not an IP address or CIDR prefix`);
  const max = familyBits(family);
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b) || Number(b) > max) {
      throw new PrefixError(`"${text}": prefix length must be 0-${max}`);
    }
    bits = Number(b);
  }
  const address = family === 4 ? v4ToBigInt(addrText) : v6ToBigInt(addrText);
  const network = address & mask(family, bits);
  if (network !== address && !options.loose) {
    throw new PrefixError(
      `"${text}" has host bits set (did you mean ${formatPrefix({ family, address: network, bits })}?)`,
    );
  }
  return { family, address: options.loose ? address : network, bits };
}

export function isPrefix(text: string): boolean {
  try {
    parsePrefix(text);
    return true;
  } catch {
    return false;
  }
}

/** The last address inside the prefix. */
export function lastAddress(p: Prefix): bigint {
  return p.address | (~mask(p.family, p.bits) & allOnes(p.family));
}

export function formatAddress(family: 4 | 6, address: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((address >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((address >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on ties.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.family, p.address)}/${p.bits}`;
}

/** Canonical text of a prefix: lowercase, compressed, always with a length. */
export function canonicalPrefix(text: string): string {
  return formatPrefix(parsePrefix(text));
}

function allOnes(family: 4 | 6): bigint {
  return (1n << BigInt(familyBits(family))) - 1n;
}

function mask(family: 4 | 6, bits: number): bigint {
  const total = familyBits(family);
  return (allOnes(family) >> BigInt(total - bits)) << BigInt(total - bits);
}

function v4ToBigInt(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6ToBigInt(text: string): bigint {
  let t = text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4) {
    const n = v4ToBigInt(v4[1]!);
    t = `${t.slice(0, v4.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = t.includes('::') ? t.split('::') : [t, undefined];
  const h = head ? head.split(':') : [];
  const tl = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}
