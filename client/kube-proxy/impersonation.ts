import type { Caller } from './caller.ts';
import { KUBERNETES_CAPABILITY, kubernetesGrant } from './capability.ts';
import { KubeProxyError } from './errors.ts';

/**
 * Who the API server is told the caller is (auth mode). The user is the caller's login; the
 * groups are those its Kubernetes capability names, plus a tagged node's tags.
 *
 * Narrowing: a caller states it the way Kubernetes itself spells "act as me with fewer groups",
 * by impersonating its own login with the groups it wants (`kubectl --as=LOGIN --as-group=G`).
 * The proxy then keeps only those of the groups it would have sent anyway, so a request can
 * narrow what it acts with and never widen it. Impersonation headers naming anyone else are
 * forged or mistaken and change nothing: the request goes as the caller, with all its groups.
 */
export interface Impersonation {
  user: string;
  groups: string[];
  /** Groups the capability named that cannot be sent (bad values): for the log. */
  skipped: string[];
}

export interface Requested {
  /** Impersonate-User as the client sent it. */
  user?: readonly string[];
  /** Impersonate-Group as the client sent it. */
  groups?: readonly string[];
}

export function impersonationFor(caller: Caller, requested: Requested, proxyName: string): Impersonation {
  const grant = kubernetesGrant(caller.capMap);
  if (!grant) throw missingGrant(caller, proxyName);
  const held = [...new Set([...(caller.user === undefined ? caller.tags : []), ...grant.groups])];
  const narrowing = requested.user?.length === 1 && requested.user[0] === caller.login && requested.groups;
  if (!narrowing) return { user: caller.login, groups: held, skipped: grant.skipped };
  const wanted = new Set(narrowing);
  return { user: caller.login, groups: held.filter((g) => wanted.has(g)), skipped: grant.skipped };
}

function missingGrant(caller: Caller, proxyName: string): KubeProxyError {
  const src = caller.user ?? (caller.tags[0] || caller.nodeName);
  const example = JSON.stringify({
    src: [src],
    dst: [proxyName],
    app: { [KUBERNETES_CAPABILITY]: [{ impersonate: { groups: ['GROUP'] } }] },
  });
  return new KubeProxyError(
    'kube_proxy.no_capability',
    `${caller.login} (node ${caller.nodeName}, ${caller.address}) holds no "${KUBERNETES_CAPABILITY}" capability on ` +
      `the Kubernetes proxy ${proxyName}, so the proxy does not forward its requests. An administrator grants it ` +
      `in the policy, for example: ${example}`,
    403,
  );
}
