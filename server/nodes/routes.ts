import { isIPv4, isIPv6 } from 'node:net';
import { invalid } from '../errors.ts';
import { formatV4, formatV6, v4ToBigInt, v6ToBigInt } from './addresses.ts';

/**
 * Checks advertised or approved routes: each an IPv4 or IPv6 CIDR without host bits.
 * Returns them in canonical form (RFC 5952 for IPv6), without duplicates, sorted.
 */
export function parseRoutes(routes: string[], where: string): string[] {
  const out = new Set<string>();
  routes.forEach((route, i) => {
    const refuse = (why: string) => invalid('route.malformed', `${where}[${i}]: "${route}" ${why}`, `${where}.${i}`);
    const parts = route.split('/');
    const [ip = '', bits = ''] = parts;
    // Plain hex groups only for IPv6: no embedded IPv4 tail, no zone.
    const width = isIPv4(ip) ? 32 : isIPv6(ip) && /^[0-9A-Fa-f:]+$/.test(ip) ? 128 : 0;
    if (parts.length !== 2 || !width || !/^(0|[1-9]\d{0,2})$/.test(bits) || Number(bits) > width) {
      throw refuse('is not a CIDR such as 10.0.0.0/24');
    }
    const n = Number(bits);
    const value = width === 32 ? v4ToBigInt(ip) : v6ToBigInt(ip);
    const host = (1n << BigInt(width - n)) - 1n;
    const format = width === 32 ? formatV4 : formatV6;
    if (value & host) throw refuse(`has host bits set; write ${format(value & ~host)}/${n}`);
    out.add(`${format(value)}/${n}`);
  });
  return [...out].sort();
}
