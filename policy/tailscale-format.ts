/**
 * Compiled views in the shape Tailscale's control plane sends (`SrcIPs`, `DstPorts`, ...), keyed
 * by node name: what `trellis policy compile --format tailscale` prints and what the
 * conformance data records.
 */
import type { FilterRule } from '../protocol/filter.ts';
import type { Policy } from './model.ts';
import { PolicyNetwork, type NetworkOptions } from './network.ts';
import type { PolicyNode } from './node.ts';
import { peerRoutesOf, type PeerRoutes } from './peer-routes.ts';

export interface TailscaleFilterRule {
  SrcIPs: string[];
  DstPorts?: Array<{ IP: string; Ports: { First: number; Last: number } }>;
  IPProto?: number[];
  CapGrant?: Array<{ Dsts: string[]; CapMap: Record<string, unknown[]> }>;
}

interface TailscaleView {
  peers: string[];
  /** Each peer with its allowed IPs and primary routes for this node, as Tailscale's map sends them. */
  routes: PeerRoutes[];
  packetFilter: TailscaleFilterRule[];
}

function toTailscaleRule(r: FilterRule): TailscaleFilterRule {
  // Tailscale's capability rules carry only sources and grants: no ports, no protocols.
  if (r.capGrant) return { SrcIPs: r.srcIPs, CapGrant: r.capGrant.map((c) => ({ Dsts: c.dsts, CapMap: c.capMap })) };
  const out: TailscaleFilterRule = {
    SrcIPs: r.srcIPs,
    DstPorts: r.dstPorts.map((d) => ({ IP: d.ip, Ports: { First: d.ports.first, Last: d.ports.last } })),
    IPProto: r.ipProto,
  };
  return out;
}

/** Every node's peers (by name) and packet filter under `policy`. */
export function compileTopology(
  policy: Policy,
  nodes: PolicyNode[],
  options?: NetworkOptions,
): { nodes: Record<string, TailscaleView> } {
  const network = new PolicyNetwork(policy, options);
  network.loadNodes(nodes);
  const nameOf = new Map(nodes.map((n) => [n.id, n.name]));
  const routes = peerRoutesOf(network, nodes);
  const out: Record<string, TailscaleView> = {};
  for (const n of [...nodes].sort((a, b) => a.name.localeCompare(b.name))) {
    out[n.name] = {
      peers: network
        .peersOf(n.id)
        .map((id) => nameOf.get(id) ?? id)
        .sort(),
      routes: routes.get(n.id) ?? [],
      packetFilter: network.filterOf(n.id).map(toTailscaleRule),
    };
  }
  return { nodes: out };
}
