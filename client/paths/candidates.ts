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

/**
 * `observed`: the peer's public mapping as the server saw it. It always gets a slot: it is the
 * candidate that works across NATs, and a host full of local bridges (Docker) must not crowd
 * it out.
 */
export function trialOrder(candidates: readonly string[], ctx: CandidateContext, observed?: string): string[] {
  const usable = [...new Set(candidates)].filter((c) => {
    const ip = hostOf(c);
    const family = ip === undefined ? 0 : isIP(ip);
    if (family === 0 || !unicast(ip!) || !validPort(c)) return false;
    return family === 4 || ctx.hasIPv6;
  });
  const keep = observed !== undefined && usable.includes(observed) ? observed : undefined;
  const onLink = usable.filter((c) => c !== keep && ctx.isOnLink(c)).slice(0, keep ? MAX_SLOTS - 1 : MAX_SLOTS);
  const rest = usable.filter((c) => c !== keep && !ctx.isOnLink(c));
  return [...onLink, ...(keep ? [keep] : []), ...rest].slice(0, MAX_SLOTS);
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

/** Addresses a peer can send a datagram to: not loopback, unspecified, multicast or broadcast. */
function unicast(ip: string): boolean {
  const v = ip.toLowerCase();
  const v4 = v.startsWith('::ffff:') ? v.slice(7) : v;
  if (isIP(v4) === 4) {
    const first = Number(v4.split('.')[0]);
    return first !== 0 && first !== 127 && first < 224 && v4 !== '255.255.255.255' && v === v4;
  }
  return v !== '::' && v !== '::1' && !v.startsWith('ff');
}

function validPort(endpoint: string): boolean {
  const port = Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}
