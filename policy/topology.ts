/**
 * The topology format of the conformance data and of the CLI's `--topology` files:
 * `{"users": [{name, email}], "nodes": {NAME: {user?, tags, ipv4, ipv6, routableIPs, approvedRoutes}}}`.
 * Checked here so that the CLI and the tests read it the same way.
 */
import { z } from 'zod';
import type { PolicyNode } from './node.ts';

const TopologyNode = z.object({
  user: z.string().optional(),
  idpGroups: z.array(z.string()).optional(),
  tags: z.array(z.string()).default([]),
  ipv4: z.string(),
  ipv6: z.string(),
  routableIPs: z.array(z.string()).default([]),
  approvedRoutes: z.array(z.string()).default([]),
});

export const Topology = z.object({
  users: z.array(z.object({ name: z.string(), email: z.string() })).default([]),
  nodes: z.record(z.string(), TopologyNode),
});
export type Topology = z.infer<typeof Topology>;

/** Nodes of a topology, with the node name as id. */
export function topologyNodes(t: Topology): PolicyNode[] {
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
