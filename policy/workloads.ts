/**
 * The tags a workload earns by the identity it proved (SPIFFE ID or Kubernetes service
 * account), from the policy's `workloads` section. The server calls this only after verifying
 * the credential; a workload never chooses its own tags.
 */
import type { Policy, WorkloadMatch } from './model.ts';

type WorkloadIdentity =
  { spiffeId: string } | { kubernetes: { cluster: string; namespace: string; serviceAccount: string } };

/**
 * A `*` segment matches exactly one path segment, except as the last segment of the pattern,
 * where it matches one or more (so `.../ns/payments/*` covers `.../ns/payments/sa/api`).
 */
function spiffeMatches(m: Extract<WorkloadMatch, { kind: 'spiffe' }>, id: string): boolean {
  const parsed = /^spiffe:\/\/([^/]+)((?:\/[^/]+)*)$/.exec(id);
  if (!parsed || parsed[1] !== m.trustDomain) return false;
  const path = parsed[2] ? (parsed[2] as string).slice(1).split('/') : [];
  const pat = m.segments;
  const last = pat.length - 1;
  if (pat[last] === '*' ? path.length < pat.length : path.length !== pat.length) return false;
  return pat.every((seg, i) => seg === '*' || seg === path[i]);
}

function wildcard(pattern: string, value: string): boolean {
  return pattern === '*' || pattern === value;
}

export function tagsForWorkload(policy: Policy, identity: WorkloadIdentity): string[] {
  const tags = new Set<string>();
  for (const w of policy.workloads) {
    const m = w.match;
    const hit =
      'spiffeId' in identity
        ? m.kind === 'spiffe' && spiffeMatches(m, identity.spiffeId)
        : m.kind === 'kubernetes' &&
          wildcard(m.cluster, identity.kubernetes.cluster) &&
          wildcard(m.namespace, identity.kubernetes.namespace) &&
          wildcard(m.serviceAccount, identity.kubernetes.serviceAccount);
    if (hit) for (const t of w.tags) tags.add(t);
  }
  return [...tags].sort();
}
