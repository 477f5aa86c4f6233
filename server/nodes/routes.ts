import { formatPrefix, parsePrefix } from '../../protocol/ip/prefix.ts';
import { invalid } from '../errors.ts';

/**
 * Checks advertised or approved routes: each an IPv4 or IPv6 CIDR without host bits (and
 * without an IPv4 tail in IPv6, as protocol/route.ts). Returns them in canonical form (RFC
 * 5952 for IPv6), without duplicates, sorted.
 */
export function parseRoutes(routes: string[], where: string): string[] {
  const out = new Set<string>();
  routes.forEach((route, i) => {
    const p = parsePrefix(route, { bareAddress: false, ipv4Tail: false });
    if (!p.ok) throw invalid('route.malformed', `${where}[${i}]: ${p.error.message}`, `${where}.${i}`);
    out.add(formatPrefix(p.value));
  });
  return [...out].sort();
}
