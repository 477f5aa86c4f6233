import type { FilterRule } from '../../protocol/filter.ts';
import { parsePrefix, prefixCovers, type Prefix } from '../../protocol/ip/prefix.ts';
import { isExitRoute } from '../../protocol/route.ts';

/**
 * The inbound rule that lets the nodes allowed to use this exit node reach its resolver
 * (exit-dns.ts) on its own mesh addresses. Pure. The server's rules name where those nodes may
 * go through this node (the internet prefixes of `autogroup:internet`, or `*`), not this port,
 * so the agent derives it: the sources of every rule with a destination outside the mesh and
 * outside this node's subnet routes, i.e. traffic that can only leave by the exit routes. A node
 * the policy does not let use the exit node gets no rule here, and its queries are dropped.
 */
/** Where the exit node's resolver answers, on each of its mesh addresses. */
export const EXIT_DNS_PORT = 53;

export function exitDnsRule(
  filter: readonly FilterRule[],
  self: { addresses: readonly string[]; approvedRoutes: readonly string[] },
  meshRanges: readonly string[],
): FilterRule | undefined {
  const inside = [...meshRanges, ...self.approvedRoutes.filter((r) => !isExitRoute(r))]
    .map((t) => parsePrefix(t))
    .flatMap((p) => (p.ok ? [p.value] : []));
  const throughExit = (ip: string) => {
    if (ip === '*') return true;
    const p = parsePrefix(ip);
    return p.ok && !inside.some((r: Prefix) => prefixCovers(r, p.value));
  };
  const sources = new Set<string>();
  for (const rule of filter)
    if (rule.dstPorts.some((d) => throughExit(d.ip))) for (const s of rule.srcIPs) sources.add(s);
  if (sources.size === 0) return undefined;
  return {
    srcIPs: [...sources].sort(),
    dstPorts: self.addresses.map((ip) => ({ ip, ports: { first: EXIT_DNS_PORT, last: EXIT_DNS_PORT } })),
    ipProto: [6, 17],
  };
}
