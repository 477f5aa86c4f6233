import { isIP } from 'node:net';

/**
 * The order in which a trial tries a peer's candidates, one slot each. Both sides of a trial
 * order their lists the same way (addresses on a shared link first, then the rest in the
 * server's order, which puts its observed endpoint first), so that in each slot both send to
 * the candidate that pairs with the other's: LAN with LAN, public mapping with public mapping.
 */
export interface CandidateContext {
  /** Whether the endpoint is on one of this machine's own links. */
  isOnLink(endpoint: string): boolean;
  /** Whether this machine has an IPv6 address a peer could reach (else IPv6 candidates are futile). */
  hasIPv6: boolean;
}

/** Slots per trial: enough for LAN, public mapping and IPv6, short enough to end within seconds. */
export const MAX_SLOTS = 4;

export function trialOrder(candidates: readonly string[], ctx: CandidateContext): string[] {
  const usable = [...new Set(candidates)].filter((c) => {
    const ip = hostOf(c);
    const family = ip === undefined ? 0 : isIP(ip);
    if (family === 0 || isLoopback(ip!)) return false;
    return family === 4 || ctx.hasIPv6;
  });
  const onLink = usable.filter((c) => ctx.isOnLink(c));
  const rest = usable.filter((c) => !ctx.isOnLink(c));
  return [...onLink, ...rest].slice(0, MAX_SLOTS);
}

/** The address part of `ip:port` or `[ipv6]:port`; undefined when it has no port. */
export function hostOf(endpoint: string): string | undefined {
  if (endpoint.startsWith('[')) {
    const end = endpoint.indexOf(']:');
    return end > 0 ? endpoint.slice(1, end) : undefined;
  }
  const colon = endpoint.lastIndexOf(':');
  return colon > 0 && endpoint.indexOf(':') === colon ? endpoint.slice(0, colon) : undefined;
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}
