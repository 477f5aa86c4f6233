/**
 * Reading a topology (protocol/policy-topology.ts): the conformance data, the CLI's
 * `--topology` files and the server's GET /api/v1/policy/topology all have this one shape.
 */
import { PolicyTopology } from '../protocol/policy-topology.ts';
import type { NetworkOptions } from './network.ts';
import type { PolicyNode } from './node.ts';

type TopologyRead =
  { ok: true; nodes: PolicyNode[]; options: NetworkOptions } | { ok: false; where: string; message: string };

/** Validates a parsed JSON document as a topology: its nodes, and the options to compile them with. */
export function readTopology(json: unknown): TopologyRead {
  const parsed = PolicyTopology.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, where: issue?.path.join('.') || 'top level', message: issue?.message ?? 'invalid' };
  }
  const t = parsed.data;
  return { ok: true, nodes: topologyNodes(t), options: t.mesh ? { mesh: t.mesh } : {} };
}

/** Nodes of a topology, with the node name as id. */
function topologyNodes(t: PolicyTopology): PolicyNode[] {
  return Object.entries(t.nodes).map(([name, n]) => ({
    id: name,
    name,
    tags: n.tags,
    ipv4: n.ipv4,
    ipv6: n.ipv6,
    routableIPs: n.routableIPs,
    approvedRoutes: n.approvedRoutes,
    ...(n.user !== undefined ? { user: n.user } : {}),
    ...(n.idpGroups !== undefined ? { idpGroups: n.idpGroups } : {}),
  }));
}

/** The topology document for nodes compiled with these options (what the server answers). */
export function toTopology(nodes: readonly PolicyNode[], options: NetworkOptions = {}): PolicyTopology {
  const out: PolicyTopology = { nodes: {}, ...(options.mesh ? { mesh: options.mesh } : {}) };
  for (const n of [...nodes].sort((a, b) => a.name.localeCompare(b.name))) {
    out.nodes[n.name] = {
      tags: n.tags,
      ipv4: n.ipv4,
      ipv6: n.ipv6,
      routableIPs: n.routableIPs,
      approvedRoutes: n.approvedRoutes,
      ...(n.user !== undefined ? { user: n.user } : {}),
      ...(n.idpGroups !== undefined ? { idpGroups: n.idpGroups } : {}),
    };
  }
  return out;
}
