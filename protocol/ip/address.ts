import { ipFail, ipOk, quote, type IpResult } from './ip-error.ts';

/**
 * One IPv4 or IPv6 address as a number within its family. Text is read strictly (no zone, no
 * brackets, no leading zeros in IPv4 parts, which other parsers read as octal) and written in
 * one canonical form: dotted decimal, and RFC 5952 for IPv6 (lowercase, no leading zeros, the
 * longest run of two or more zero groups as `::`, the first one on ties).
 */
export type Family = 4 | 6;

export interface Address {
  readonly family: Family;
  /** 0 .. 2^32-1 for IPv4, 0 .. 2^128-1 for IPv6. */
  readonly value: bigint;
}

export interface AddressSyntax {
  /** Accept a dotted IPv4 tail in IPv6 (`::ffff:192.0.2.1`); default true. */
  ipv4Tail?: boolean;
}

/** The longest text of an address: eight groups of four hex digits with an IPv4 tail. */
export const MAX_ADDRESS_TEXT = 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255'.length;

export const familyBits = (family: Family): 32 | 128 => (family === 4 ? 32 : 128);

/** Every bit of the family set: the last address. */
export const familyMax = (family: Family): bigint => (1n << BigInt(familyBits(family))) - 1n;

export function parseAddress(text: string, syntax: AddressSyntax = {}): IpResult<Address> {
  const value = text.length > MAX_ADDRESS_TEXT ? undefined : text.includes(':') ? v6(text, syntax) : v4(text);
  if (value === undefined) return ipFail('ip.not_an_address', `${quote(text)} is not an IP address`);
  return ipOk({ family: text.includes(':') ? 6 : 4, value });
}

export function formatAddress(address: Address): string {
  return address.family === 4 ? formatV4(address.value) : formatV6(address.value);
}

function v4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    n = (n << 8n) | BigInt(part);
  }
  return n;
}

function v6(text: string, syntax: AddressSyntax): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = groups(halves[0]!, syntax, halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1]!, syntax, true) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  // `::` stands for at least one zero group; without it all eight must be written.
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let n = 0n;
  for (const g of [...head, ...Array<bigint>(halves.length === 2 ? missing : 0).fill(0n), ...tail]) n = (n << 16n) | g;
  return n;
}

/** Colon-separated hex groups; an IPv4 tail, where allowed, counts as the last two. */
function groups(text: string, syntax: AddressSyntax, last: boolean): bigint[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const out: bigint[] = [];
  for (const [i, part] of parts.entries()) {
    if (last && i === parts.length - 1 && part.includes('.') && syntax.ipv4Tail !== false) {
      const n = v4(part);
      if (n === undefined) return undefined;
      out.push(n >> 16n, n & 0xffffn);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
      out.push(BigInt(`0x${part}`));
    } else {
      return undefined;
    }
  }
  return out;
}

function formatV4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

function formatV6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
}
