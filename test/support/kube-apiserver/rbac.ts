import type { RequestUser } from './authn.ts';
import { ApiError } from './status.ts';

/**
 * A small role table: each rule gives a user or a group some verbs on some resources, in some
 * namespaces (or all). Discovery and SelfSubjectReview are open to every authenticated user,
 * as the real defaults (system:discovery, system:basic-user) leave them.
 */
export interface Rule {
  user?: string;
  group?: string;
  verbs: string[];
  /** `pods`, `pods/exec`, `*`. */
  resources: string[];
  /** Absent: every namespace and cluster-scoped resources. */
  namespaces?: string[];
}

export interface Access {
  verb: string;
  resource: string;
  apiGroup: string;
  namespace?: string;
  name?: string;
}

export function authorize(who: RequestUser, access: Access, rules: readonly Rule[]): void {
  const allowed = rules.some(
    (r) =>
      (r.user === who.user || (r.group !== undefined && who.groups.includes(r.group))) &&
      (r.verbs.includes('*') || r.verbs.includes(access.verb)) &&
      (r.resources.includes('*') || r.resources.includes(access.resource)) &&
      (r.namespaces === undefined || (access.namespace !== undefined && r.namespaces.includes(access.namespace))),
  );
  if (allowed) return;
  const [resource, sub] = access.resource.split('/');
  const subject = access.name ? `${resource} "${access.name}"` : resource;
  const scope = access.namespace ? `in the namespace "${access.namespace}"` : 'at the cluster scope';
  throw new ApiError(
    403,
    `${sub ? `${resource} "${access.name}"` : subject} is forbidden: User "${who.user}" cannot ${access.verb} resource "${access.resource}" in API group "${access.apiGroup}" ${scope}`,
    'Forbidden',
    { ...(access.name && { name: access.name }), kind: resource },
  );
}
