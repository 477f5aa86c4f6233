import { formatAddress, parseAddress, type Family } from '../../protocol/ip/address.ts';
import { quote } from '../../protocol/ip/ip-error.ts';
import { lastAddress, parsePrefix, type Prefix } from '../../protocol/ip/prefix.ts';
import { ConfigError } from '../config/errors.ts';
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
  { start: ipv4('100.100.100.100'), size: 1n },
  { start: ipv4('100.115.92.0'), size: 512n },
];

export function addressPlan(ipv4Prefix: string, ipv6Prefix: string): AddressPlan {
  const v4 = networkPrefix(ipv4Prefix, 'network.ipv4Prefix', 4);
  const v6 = networkPrefix(ipv6Prefix, 'network.ipv6Prefix', 6);
  const reserved = RESERVED_V4.filter((r) => r.start > v4.address && r.start + r.size <= lastAddress(v4));
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
      let ipv4 = v4.address + BigInt(index);
      for (const r of reserved) if (ipv4 >= r.start) ipv4 += r.size;
      return {
        ipv4: formatAddress({ family: 4, value: ipv4 }),
        ipv6: formatAddress({ family: 6, value: v6.address + BigInt(index) }),
      };
    },
  };
}

/** A configured network prefix: a CIDR of its family with a length of 8-30 (IPv4) or 8-112 (IPv6). */
function networkPrefix(text: string, key: string, family: Family): Prefix {
  // Plain hex groups only for IPv6: no IPv4 tail.
  const p = parsePrefix(text, { bareAddress: false, ipv4Tail: false });
  const [minBits, maxBits] = family === 4 ? [8, 30] : [8, 112];
  if (p.ok && p.value.family === family && p.value.bits >= minBits && p.value.bits <= maxBits) return p.value;
  const why =
    p.ok || p.error.code !== 'ip.host_bits_set'
      ? `must be an IPv${family} CIDR with a prefix length of ${minBits} to ${maxBits}`
      : 'has host bits set';
  throw new ConfigError('config.bad_prefix', `${key}: ${quote(text)} ${why}`);
}

/** An IPv4 address written in the code. */
function ipv4(text: string): bigint {
  const a = parseAddress(text);
  if (!a.ok || a.value.family !== 4) throw new TypeError(`not an IPv4 address: ${text}`);
  return a.value.value;
}
