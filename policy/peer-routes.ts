/**
 * What each viewer routes to each peer, as Tailscale's control plane sends it without liveness:
 * one primary router per subnet prefix, the first of its approved advertisers in the order given
 * (Tailscale: the oldest), sent only to viewers the policy lets reach into the prefix, or, for a source of a grant with `via`, the first among the routers
 * with the grant's tags; exit routes to the exit nodes the viewer may use. The server elects
 * with health and priority instead (server/routes/); this static form is for
 * `trellis policy compile --format tailscale`.
 */
import { parsePrefix } from '../protocol/ip/prefix.ts';
import { overlaps, prefixRange, type Range } from '../protocol/ip/range.ts';
import type { PolicyNetwork } from './network.ts';
import type { PolicyNode } from './node.ts';

export interface PeerRoutes {
  name: string;
  /** The peer's addresses, the subnet routes this viewer routes to it, and its exit routes if the viewer may use it. */
  allowedIPs: string[];
  /** The subnet routes this viewer routes to it. */
  primaryRoutes: string[];
}

function rangeOf(text: string): Range | undefined {
  const p = parsePrefix(text);
  return p.ok ? prefixRange(p.value) : undefined;
}

export function peerRoutesOf(network: PolicyNetwork, nodes: readonly PolicyNode[]): Map<string, PeerRoutes[]> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const carriers = (route: string, tags?: readonly string[]) =>
    nodes.find(
      (n) => network.approvedRoutesOf(n.id).subnet.includes(route) && (!tags || n.tags.some((t) => tags.includes(t))),
    )?.id;
  const out = new Map<string, PeerRoutes[]>();
  for (const viewer of nodes) {
    const steering = network.viaOf(viewer.id).flatMap((v) => {
      const range = rangeOf(v.prefix);
      return range ? [{ range, tags: v.tags }] : [];
    });
    const list: PeerRoutes[] = [];
    for (const id of network.peersOf(viewer.id)) {
      const peer = byId.get(id);
      if (!peer) continue;
      const approved = network.approvedRoutesOf(id);
      const primaryRoutes = approved.subnet.filter((route) => {
        const range = rangeOf(route);
        const steer = range && steering.find((s) => overlaps(s.range, range));
        return carriers(route, steer ? steer.tags : undefined) === id && network.routeConcerns(viewer.id, id, route);
      });
      const exit = network.mayUseExitNode(viewer.id, id) ? approved.exit : [];
      const addresses = [peer.ipv4 && `${peer.ipv4}/32`, peer.ipv6 && `${peer.ipv6}/128`].filter((a) => a !== '');
      list.push({
        name: peer.name,
        allowedIPs: [...addresses, ...primaryRoutes, ...exit].sort(),
        primaryRoutes: [...primaryRoutes].sort(),
      });
    }
    out.set(
      viewer.id,
      list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    );
  }
  return out;
}
