/** A node as the policy sees it: identity, addresses and routes. The server fills it. */
export interface PolicyNode {
  id: string;
  name: string;
  /** Owner's email; absent for tagged nodes (no user identity). */
  user?: string;
  /** Groups claim from the identity provider, for `idp:` group members. */
  idpGroups?: string[];
  tags: string[];
  ipv4: string;
  ipv6: string;
  /** Advertised routes; those the policy's autoApprovers cover count as approved. */
  routableIPs: string[];
  /** Routes an administrator approved. */
  approvedRoutes: string[];
}

/** The node `ref` names: by id first, then by name (a name may look like another node's id). */
export function nodeByRef(nodes: readonly PolicyNode[], ref: string): PolicyNode | undefined {
  return nodes.find((n) => n.id === ref) ?? nodes.find((n) => n.name === ref);
}
