import { isIPv4, isIPv6 } from 'node:net';
import { invalid } from '../errors.ts';

/** Checks advertised or approved routes: each an IPv4 or IPv6 CIDR without host bits. */
export function parseRoutes(routes: string[], where: string): string[] {
  const out = new Set<string>();
  routes.forEach((route, i) => {
    const [ip = '', bits = ''] = route.split('/');
    const width = isIPv4(ip) ? 32 : isIPv6(ip) ? 128 : 0;
    const n = Number(bits);
    if (!width || !/^\d{1,3}$/.test(bits) || n > width) {
      throw invalid('route.malformed', `${where}[${i}]: "${route}" is not a CIDR such as 10.0.0.0/24`, `${where}.${i}`);
    }
    out.add(route.toLowerCase());
  });
  return [...out].sort();
}
