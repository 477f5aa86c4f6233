import type { SelfNode } from '../../protocol/node.ts';
import { parsePrefix, type Prefix } from '../../protocol/ip/prefix.ts';
import { isExitRoute } from '../../protocol/route.ts';
import type { RouterRules } from './ruleset.ts';

/**
 * Pure: what this node must forward, from its own record in the map and its local settings.
 * It routes the subnets it advertises once the server approved them (an administrator, or the
 * policy's autoApprovers); until then nothing is forwarded. A node that routes nothing and is
 * no gateway gets no router at all (forwarding stays as the machine had it).
 */
export interface RouterSettings {
  /** Masquerade mesh traffic into the subnets (default true; false for site-to-site). */
  snatSubnetRoutes: boolean;
  /** Hosts without an agent that reach the mesh through this node (the gateway-pod pattern). */
  gatewayFor: readonly string[];
}

export type RouterConfig = Omit<RouterRules, 'iface' | 'meshRanges'>;

export function routerConfig(self: SelfNode, settings: RouterSettings): RouterConfig | undefined {
  const advertised = new Set(self.advertisedRoutes);
  const approved = self.approvedRoutes.filter((r) => advertised.has(r));
  const routes = prefixes(approved.filter((r) => !isExitRoute(r)));
  const gatewaySources = prefixes(settings.gatewayFor);
  if (routes.length === 0 && gatewaySources.length === 0) return undefined;
  const bare = (a: string) => a.split('/')[0]!;
  return {
    routes,
    exitNode: approved.some(isExitRoute),
    snat: settings.snatSubnetRoutes,
    gatewaySources,
    addresses: {
      ...(self.ipv4 && { ipv4: bare(self.ipv4) }),
      ...(self.ipv6 && { ipv6: bare(self.ipv6) }),
    },
  };
}

/** Routes come from the server and settings from the CLI's checked flags: one that does not parse is left out. */
function prefixes(texts: readonly string[]): Prefix[] {
  return texts.flatMap((t) => {
    const p = parsePrefix(t);
    return p.ok ? [p.value] : [];
  });
}
