/**
 * The identity keys of one node under a compiled policy, on each side of a rule. A tagged node
 * has no user identity: its tags replace its owner. Address selectors match a node when they
 * overlap one of its addresses or approved routes (exit routes only count as destinations).
 */
import { ANY, type CompiledPolicy, INTERNET, MEMBER, TAGGED, viaKey } from './compiled.ts';
import { parsePrefix } from '../protocol/ip/prefix.ts';
import { overlaps, prefixRange, type Range } from '../protocol/ip/range.ts';
import { isExitRoute } from '../protocol/route.ts';
import { groupsOf } from './membership.ts';
import type { PolicyNode } from './node.ts';
import { autoApprovedRoutes } from './ownership.ts';

export interface NodeKeys {
  src: Set<string>;
  dst: Set<string>;
  /** The owner, when the node is an untagged user device (what autogroup:self pairs by). */
  selfUser?: string;
  /** Addresses, as written in filters. */
  addresses: string[];
  /** Approved routes that are not exit routes. */
  subnetRoutes: string[];
  /** Approved exit routes (0.0.0.0/0, ::/0). */
  exitRoutes: string[];
  exitNode: boolean;
  /** Equal for nodes with the same keys: such nodes have the same peers (besides each other). */
  signature: string;
}

function rangeOf(text: string): Range | undefined {
  const p = parsePrefix(text);
  return p.ok ? prefixRange(p.value) : undefined;
}

/**
 * Approved routes: those an administrator approved, and those the policy's autoApprovers approve
 * among the advertised ones (so a policy change re-approves without a stored decision).
 */
function effectiveRoutes(compiled: CompiledPolicy, node: PolicyNode): string[] {
  const auto = node.routableIPs.length > 0 ? autoApprovedRoutes(compiled.policy, node, node.routableIPs) : [];
  if (auto.length === 0) return node.approvedRoutes;
  return [...new Set([...node.approvedRoutes, ...auto])];
}

/**
 * Whatever this reads of the policy must be part of `CompiledPolicy.keyBasis`: a policy change
 * with an equal basis keeps every node's keys without calling this again.
 */
export function nodeKeys(compiled: CompiledPolicy, node: PolicyNode): NodeKeys {
  const src = new Set<string>([ANY]);
  const dst = new Set<string>([ANY]);
  const identity: string[] = [];
  const policy = compiled.policy;
  let selfUser: string | undefined;
  if (node.tags.length > 0) {
    identity.push(TAGGED, ...node.tags);
  } else if (node.user) {
    selfUser = node.user;
    identity.push(MEMBER, node.user, ...groupsOf(policy, node.user, node.idpGroups));
  }
  for (const k of identity) {
    if (compiled.identityKeys.has(k)) {
      src.add(k);
      dst.add(k);
    }
  }
  const addresses = [node.ipv4, node.ipv6].filter((a) => a !== '');
  const approved = effectiveRoutes(compiled, node);
  const subnetRoutes = approved.filter((r) => !isExitRoute(r));
  const exitRoutes = approved.filter(isExitRoute);
  const exitNode = exitRoutes.length > 0;
  if (compiled.prefixKeys.length > 0) {
    const own = [...addresses, ...subnetRoutes].map(rangeOf).filter((r): r is Range => r !== undefined);
    const exits = exitRoutes.map(rangeOf).filter((r): r is Range => r !== undefined);
    for (const p of compiled.prefixKeys) {
      if (own.some((r) => overlaps(r, p.range))) {
        src.add(p.key);
        dst.add(p.key);
      } else if (exits.some((r) => overlaps(r, p.range))) dst.add(p.key);
    }
  }
  if (exitNode && compiled.usesInternet) dst.add(INTERNET);
  // A router with a via tag carries the via grants for what it routes (prefixes it overlaps, the internet).
  for (const tag of node.tags) {
    if (!compiled.viaTags.has(tag)) continue;
    for (const k of [...dst]) if (k === INTERNET || k.startsWith('p:')) dst.add(viaKey(tag, k));
  }
  const signature = `${[...src].sort().join(' ')}|${[...dst].sort().join(' ')}|${selfUser ?? ''}`;
  return { src, dst, addresses, subnetRoutes, exitRoutes, exitNode, signature, ...(selfUser ? { selfUser } : {}) };
}
