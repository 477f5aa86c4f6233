import { z } from 'zod';
import { prefixText } from './ip/schema.ts';

/**
 * The network as the policy sees it: each node's identity, addresses and routes, and the mesh
 * ranges (what `*` means as a source). The server answers it at GET /api/v1/policy/topology,
 * and the same document, saved to a file, is what `trellis policy eval|diff|compile
 * --topology FILE` read. The format is described in docs/policy-cli.md.
 */
const Prefix = prefixText({ bareAddress: false });

const TopologyNode = z.object({
  /** The owner's email; absent for tagged nodes, which have no user identity. */
  user: z.string().max(320).optional(),
  /** The owner's groups claim from the identity provider (for `idp:` group members). */
  idpGroups: z.array(z.string().max(200)).max(1000).optional(),
  tags: z.array(z.string().max(200)).max(1000).default([]),
  /** Empty when the node has no address of this family. */
  ipv4: z.union([z.ipv4(), z.literal('')]),
  ipv6: z.union([z.ipv6(), z.literal('')]),
  /** Routes the node advertises; the policy's autoApprovers may approve them. */
  routableIPs: z.array(Prefix).max(10_000).default([]),
  /** Routes an administrator approved. */
  approvedRoutes: z.array(Prefix).max(10_000).default([]),
});

const TopologyMesh = z.object({
  /** Prefixes that hold every node address. */
  include: z.array(Prefix).min(1).max(64),
  /** Prefixes inside `include` that are never node addresses. */
  exclude: z.array(Prefix).max(64).optional(),
});

export const PolicyTopology = z.object({
  /** Absent: Tailscale's ranges (100.64.0.0/10 without 100.115.92.0/23, fd7a:115c:a1e0::/48). */
  mesh: TopologyMesh.optional(),
  /** Accepted for the conformance data's sake; the policy reads identities from the nodes. */
  users: z.array(z.object({ name: z.string(), email: z.string() })).optional(),
  /** By node name (names are unique in a network). */
  nodes: z.record(z.string().min(1).max(253), TopologyNode),
});
export type PolicyTopology = z.infer<typeof PolicyTopology>;
