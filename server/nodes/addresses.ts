import { isIPv4, isIPv6 } from 'node:net';
import { TrellisError } from '../errors.ts';

/**
 * Maps an address index (1, 2, 3, ...) to a node's IPv4 and IPv6 address inside the
 * configured prefixes. The store hands out indexes from a cursor that only grows, so an
 * address is never given to two nodes.
 */
export interface AddressPlan {
  addressFor(index: number): { ipv4: string; ipv6: string };
  capacity: number;
}

/**
 * IPv4 ranges no node is given, wherever they fall inside the prefix: the agents' own service
 * address (mesh DNS, client/dns/mesh-dns.ts) and the range ChromeOS keeps for its VMs, which
 * policies leave out of the mesh (policy/mesh.ts).
 */
const RESERVED_V4: ReadonlyArray<{ start: bigint; size: bigint }> = [
  { start: v4ToBigInt('100.100.100.100'), size: 1n },
  { start: v4ToBigInt('100.115.92.0'), size: 512n },
];

export function addressPlan(ipv4Prefix: string, ipv6Prefix: string): AddressPlan {
  const v4 = parsePrefix(ipv4Prefix, 'network.ipv4Prefix', 32);
  const v6 = parsePrefix(ipv6Prefix, 'network.ipv6Prefix', 128);
  const v4End = v4.base + (1n << BigInt(32 - v4.bits));
  const reserved = RESERVED_V4.filter((r) => r.start > v4.base && r.start + r.size < v4End);
  // Skip the network address itself; keep the top one free as the broadcast-like edge.
  // Both addresses come from the same index, so the smaller prefix sets the capacity.
  const v4Capacity = (1n << BigInt(32 - v4.bits)) - 2n - reserved.reduce((n, r) => n + r.size, 0n);
  const v6Capacity = (1n << BigInt(128 - v6.bits)) - 2n;
  const full = v6Capacity < v4Capacity ? `IPv6 prefix ${ipv6Prefix}` : `IPv4 prefix ${ipv4Prefix}`;
  const capacity = Number(v6Capacity < v4Capacity ? v6Capacity : v4Capacity);
  return {
    capacity,
    addressFor(index) {
      if (!Number.isInteger(index) || index < 1 || index > capacity) {
        throw new TrellisError('unavailable', 'address.exhausted', `the ${full} has no free address left`);
      }
      // Step over each reserved range at or below the address (they are in ascending order).
      let ipv4 = v4.base + BigInt(index);
      for (const r of reserved) if (ipv4 >= r.start) ipv4 += r.size;
      return {
        ipv4: formatV4(ipv4),
        ipv6: formatV6(v6.base + BigInt(index)),
      };
    },
  };
}

export function parsePrefix(prefix: string, key: string, width: 32 | 128): { base: bigint; bits: number } {
  const [ip = '', bitsText = '', ...rest] = prefix.split('/');
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  // Plain hex groups only for IPv6: no embedded IPv4 tail, no zone.
  const valid = rest.length === 0 && (width === 32 ? isIPv4(ip) : isIPv6(ip) && /^[0-9A-Fa-f:]+$/.test(ip));
  const minBits = 8;
  const maxBits = width === 32 ? 30 : 112;
  if (!valid || !Number.isInteger(bits) || bits < minBits || bits > maxBits) {
    throw new TrellisError(
      'invalid',
      'config.bad_prefix',
      `${key}: "${prefix}" must be an IPv${width === 32 ? 4 : 6} CIDR with a prefix length of ${minBits} to ${maxBits}`,
    );
  }
  const value = width === 32 ? v4ToBigInt(ip) : v6ToBigInt(ip);
  const hostBits = BigInt(width - bits);
  if (value & ((1n << hostBits) - 1n)) {
    throw new TrellisError('invalid', 'config.bad_prefix', `${key}: "${prefix}" has host bits set`);
  }
  return { base: value, bits };
}

export function v4ToBigInt(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) + BigInt(Number(part)), 0n);
}

export function v6ToBigInt(ip: string): bigint {
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n);
}

export function formatV4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
}

/** Canonical (RFC 5952) form: lowercase, longest zero run compressed. */
export function formatV6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}
