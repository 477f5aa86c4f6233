import type { Peer } from '../../protocol/node.ts';
import { formatPrefix, parsePrefix } from '../../protocol/ip/prefix.ts';
import { isExitRoute } from '../../protocol/route.ts';
import type { RouteRefusal } from './errors.ts';
import { routeRefusal, type LocalNetwork } from './route-safety.ts';

/**
 * Pure: which of the subnet routes peers offer this machine routes. The server sends each peer
 * with the prefixes it is the elected primary of (`primaryRoutes`, inside `allowedIPs`); this
 * machine routes them only
 *  1. with `--accept-routes` (off by default, as on Tailscale's Linux client), and
 *  2. when routing them cuts nothing off (route-safety.ts), unless the prefix is forced.
 * A route not taken is removed from the peer's allowed IPs, so WireGuard neither sends to the
 * peer for it nor accepts packets from it with such a source. Exit routes are not subnet routes
 * and are left alone here. A server before protocol 9 sends no `primaryRoutes`; then every
 * allowed IP beyond the peer's own addresses is an offered route.
 */
export interface AcceptSettings {
  acceptRoutes: boolean;
  /** Prefixes routed even though they would capture the LAN, the default route or the server. */
  force: readonly string[];
}

export interface OfferedRoute {
  prefix: string;
  /** The peer (node name) that is the prefix's primary router for this machine. */
  via: string;
  state: 'accepted' | 'not-accepted' | 'refused';
  /** Why a route is refused (a `routes.*` code and message); with `forced`, why it would have been. */
  refusal?: { code: string; message: string };
  forced?: boolean;
}

export interface Acceptance {
  peers: Peer[];
  offered: OfferedRoute[];
  refusals: RouteRefusal[];
}

export function acceptRoutes(
  peers: Iterable<Peer>,
  settings: AcceptSettings,
  local: LocalNetwork,
  /** Mesh services' addresses (host prefixes): a replica's own address under another name, never a subnet route. */
  services: readonly string[] = [],
): Acceptance {
  const force = new Set(settings.force.map(canonical));
  const out: Acceptance = { peers: [], offered: [], refusals: [] };
  for (const peer of peers) {
    const own = new Set([...peer.addresses, ...services].map(canonical));
    const offered = (peer.primaryRoutes ?? peer.allowedIPs).filter(
      (r) => !own.has(canonical(r)) && !isExitRoute(canonical(r)),
    );
    const dropped = new Set<string>();
    for (const route of offered) {
      const prefix = parsePrefix(route);
      const refusal = prefix.ok ? routeRefusal(prefix.value, local) : undefined;
      const forced = refusal !== undefined && force.has(canonical(route));
      const entry: OfferedRoute = { prefix: route, via: peer.name, state: 'accepted' };
      if (!settings.acceptRoutes) entry.state = 'not-accepted';
      else if (!prefix.ok || (refusal && !forced)) entry.state = 'refused';
      if (refusal) {
        entry.refusal = { code: refusal.code, message: refusal.message };
        if (forced) entry.forced = true;
        if (entry.state === 'refused') out.refusals.push(refusal);
      }
      if (entry.state !== 'accepted') dropped.add(canonical(route));
      out.offered.push(entry);
    }
    out.peers.push(
      dropped.size === 0 ? peer : { ...peer, allowedIPs: peer.allowedIPs.filter((a) => !dropped.has(canonical(a))) },
    );
  }
  out.offered.sort((a, b) => a.prefix.localeCompare(b.prefix) || a.via.localeCompare(b.via));
  return out;
}

/** A prefix's one spelling, so `10.1.0.0/24` from the map and the flag compare equal; text that does not parse stays as it is. */
function canonical(text: string): string {
  const p = parsePrefix(text);
  return p.ok ? formatPrefix(p.value) : text;
}
