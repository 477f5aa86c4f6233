import { formatAddress, type Address } from '../../protocol/ip/address.ts';
import { formatPrefix, prefixContains, prefixCovers, type Prefix } from '../../protocol/ip/prefix.ts';
import { RouteRefusal } from './errors.ts';

/**
 * Pure: whether routing a subnet into the tunnel would cut this machine off from what it must
 * reach outside it. The kernel picks the longest matching prefix, so a mesh route takes an
 * address away from its current route when it is at least as specific as that route:
 *  1. the LAN: a route inside (or equal to) a network on one of our other interfaces would
 *     take part of it (10.0.1.0/25 over a LAN 10.0.1.0/24); a wider one (10.0.0.0/8) does not,
 *     the LAN keeps its own, more specific route;
 *  2. the default route: a route holding the default gateway's address, at least as specific
 *     as the gateway's own route, would send everything bound for the internet into the tunnel;
 *  3. the server: a route holding the control server's address (the same way) would carry the
 *     agent's own control traffic through the tunnel that traffic keeps up.
 * Such a route is refused unless the person forced that prefix (`--accept-routes-force`).
 */
export interface LocalNetwork {
  /** Networks on this machine's other interfaces (the kernel's link routes), with the interface. */
  connected: ReadonlyArray<{ prefix: Prefix; dev: string }>;
  /** Next hops of the machine's default routes. */
  gateways: readonly Address[];
  /** The control server's addresses. */
  servers: readonly Address[];
}

export function routeRefusal(route: Prefix, local: LocalNetwork): RouteRefusal | undefined {
  const text = formatPrefix(route);
  for (const lan of local.connected) {
    if (lan.prefix.family === route.family && prefixCovers(lan.prefix, route))
      return new RouteRefusal(
        'routes.captures_lan',
        `not routing ${text}: it would take ${route.bits === lan.prefix.bits ? 'all' : 'part'} of this machine's LAN ${formatPrefix(lan.prefix)} (${lan.dev}) into the tunnel`,
        text,
      );
  }
  const taken = (a: Address) =>
    a.family === route.family && prefixContains(route, a) && route.bits >= ownBits(a, local);
  const gateway = local.gateways.find(taken);
  if (gateway)
    return new RouteRefusal(
      'routes.captures_default_route',
      `not routing ${text}: it holds this machine's default gateway ${formatAddress(gateway)}, so all its traffic would go into the tunnel`,
      text,
    );
  const server = local.servers.find(taken);
  if (server)
    return new RouteRefusal(
      'routes.captures_server',
      `not routing ${text}: it holds the control server's address ${formatAddress(server)}, which must stay reachable outside the tunnel`,
      text,
    );
  return undefined;
}

/** Length of the most specific connected network holding `a` (0: only the default route reaches it). */
function ownBits(a: Address, local: LocalNetwork): number {
  return Math.max(0, ...local.connected.filter((c) => prefixContains(c.prefix, a)).map((c) => c.prefix.bits));
}
