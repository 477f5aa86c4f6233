/**
 * Who may do what to nodes, outside packet rules: apply a tag (`tagOwners`) and have advertised
 * routes approved automatically (`autoApprovers`).
 */
import { parsePrefix } from '../protocol/ip/prefix.ts';
import { contains, prefixRange } from '../protocol/ip/range.ts';
import { isExitRoute } from '../protocol/route.ts';
import type { Located, Policy, Selector } from './model.ts';
import type { PolicyNode } from './node.ts';
import { type Principal, principalMatches } from './principal.ts';

/** Whether `user` may put `tag` on a device: listed in its owners, directly or by group. */
export function mayOwnTag(policy: Policy, user: { email: string; idpGroups?: string[] }, tag: string): boolean {
  const def = policy.tagOwners.get(tag);
  if (!def) return false;
  const p: Principal = {
    user: user.email,
    tags: [],
    label: user.email,
    ...(user.idpGroups ? { idpGroups: user.idpGroups } : {}),
  };
  return def.owners.some((o) => principalMatches(policy, o.value, p));
}

function nodePrincipal(node: PolicyNode): Principal {
  return node.tags.length > 0
    ? { tags: node.tags, label: node.name }
    : {
        tags: [],
        label: node.name,
        ...(node.user ? { user: node.user } : {}),
        ...(node.idpGroups ? { idpGroups: node.idpGroups } : {}),
      };
}

function approves(policy: Policy, approvers: Array<Located<Selector>>, p: Principal): boolean {
  return approvers.some((a) => principalMatches(policy, a.value, p));
}

/**
 * The subset of `advertised` routes that the policy approves for `node`: a route is approved when
 * it lies inside an `autoApprovers.routes` prefix whose approvers include the node's identity;
 * exit routes (0.0.0.0/0, ::/0) need `autoApprovers.exitNode`.
 */
export function autoApprovedRoutes(policy: Policy, node: PolicyNode, advertised: string[]): string[] {
  const p = nodePrincipal(node);
  return advertised.filter((route) => {
    if (isExitRoute(route)) return approves(policy, policy.autoApprovers.exitNode, p);
    const parsed = parsePrefix(route);
    if (!parsed.ok) return false;
    const r = prefixRange(parsed.value);
    return policy.autoApprovers.routes.some(
      (a) => contains(prefixRange(a.prefix), r) && approves(policy, a.approvers, p),
    );
  });
}
