import {
  familyBits,
  familyMax,
  formatAddress,
  MAX_ADDRESS_TEXT,
  parseAddress,
  type Address,
  type AddressSyntax,
  type Family,
} from './address.ts';
import { ipFail, ipOk, quote, type IpResult } from './ip-error.ts';

/**
 * An address with a prefix length: a network (`10.0.0.0/8`), a host (`100.64.0.7/32`), or,
 * where a caller keeps host bits, an interface address (`192.168.1.20/24`).
 */
export interface Prefix {
  readonly family: Family;
  /** The address as written; host bits are clear unless parsed with `hostBits: 'keep'`. */
  readonly address: bigint;
  readonly bits: number;
}

export interface PrefixSyntax extends AddressSyntax {
  /** Read a bare address as a host prefix (/32, /128); default true. False requires `/bits`. */
  bareAddress?: boolean;
  /**
   * Bits past the length: `reject` them (default; the message names the prefix meant), or
   * `keep` them, for interface addresses.
   */
  hostBits?: 'reject' | 'keep';
}

export const MAX_PREFIX_TEXT = MAX_ADDRESS_TEXT + '/128'.length;

export function parsePrefix(text: string, syntax: PrefixSyntax = {}): IpResult<Prefix> {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = text.length > MAX_PREFIX_TEXT ? undefined : parseAddress(addressText, syntax);
  if (!address?.ok) {
    const what = syntax.bareAddress === false ? 'a CIDR prefix' : 'an IP address or CIDR prefix';
    return ipFail('ip.not_an_address', `${quote(text)} is not ${what}`);
  }
  const { family, value } = address.value;
  const max = familyBits(family);
  if (slash < 0 && syntax.bareAddress === false) {
    return ipFail('ip.missing_prefix_length', `${quote(text)} has no prefix length (as in ${text}/${max})`);
  }
  const lengthText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lengthText) || Number(lengthText) > max) {
    return ipFail('ip.bad_prefix_length', `${quote(text)}: the prefix length must be 0-${max} for IPv${family}`);
  }
  const prefix: Prefix = { family, address: value, bits: Number(lengthText) };
  const network = maskedPrefix(prefix);
  if (network.address !== value && syntax.hostBits !== 'keep') {
    return ipFail('ip.host_bits_set', `${quote(text)} has host bits set; write ${formatPrefix(network)}`);
  }
  return ipOk(prefix);
}

/** Canonical text, always with a length: `fd7a:115c:a1e0::7/128`. */
export function formatPrefix(p: Prefix): string {
  return `${formatAddress({ family: p.family, value: p.address })}/${p.bits}`;
}

/** A host prefix as a bare address, anything else with its length (as packet filters write them). */
export function formatPrefixOrHost(p: Prefix): string {
  return isHostPrefix(p) ? formatAddress({ family: p.family, value: p.address }) : formatPrefix(p);
}

export const isHostPrefix = (p: Prefix): boolean => p.bits === familyBits(p.family);

/** The same prefix with its host bits cleared. */
export function maskedPrefix(p: Prefix): Prefix {
  return { family: p.family, address: p.address & netmask(p), bits: p.bits };
}

/** The first address of the prefix (its network address). */
export const firstAddress = (p: Prefix): bigint => p.address & netmask(p);

/** The last address of the prefix. */
export const lastAddress = (p: Prefix): bigint => p.address | (familyMax(p.family) ^ netmask(p));

export function prefixContains(p: Prefix, a: Address): boolean {
  return p.family === a.family && (a.value & netmask(p)) === firstAddress(p);
}

/** Is every address of `inner` inside `outer`? */
export function prefixCovers(outer: Prefix, inner: Prefix): boolean {
  return (
    outer.family === inner.family &&
    outer.bits <= inner.bits &&
    (inner.address & netmask(outer)) === firstAddress(outer)
  );
}

function netmask(p: Prefix): bigint {
  const hostBits = BigInt(familyBits(p.family) - p.bits);
  return (familyMax(p.family) >> hostBits) << hostBits;
}
