import type { IncomingMessage } from 'node:http';
import { ApiError } from './status.ts';

/**
 * Who a request is. A bearer token names an account; only an account marked `mayImpersonate`
 * (the proxy's own service account) may act as another user with Impersonate-User and
 * Impersonate-Group. Anyone else sending those headers is refused, as a real API server refuses
 * a caller RBAC does not allow the `impersonate` verb.
 */
export interface Account {
  user: string;
  groups: string[];
  mayImpersonate?: boolean;
}

export interface RequestUser {
  user: string;
  groups: string[];
  /** Impersonate-Uid and Impersonate-Extra-KEY, as a real API server takes them. */
  uid?: string;
  extra?: Record<string, string[]>;
  /** The account that impersonated, when the request was impersonated. */
  impersonatedBy?: string;
}

export function authenticate(req: IncomingMessage, accounts: ReadonlyMap<string, Account>): RequestUser {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer (\S+)$/.exec(header);
  const account = m ? accounts.get(m[1]!) : undefined;
  if (!account) throw new ApiError(401, 'Unauthorized');
  const asUser = req.headersDistinct['impersonate-user'];
  const asGroups = req.headersDistinct['impersonate-group'] ?? [];
  const other = Object.keys(req.headers).filter(
    (h) => h.startsWith('impersonate-') && !/^impersonate-(user|group)$/.test(h),
  );
  if (asUser === undefined && (asGroups.length > 0 || other.length > 0))
    throw new ApiError(
      500,
      `requested [${[...asGroups, ...other].join(' ')}] without impersonating a user`,
      'InternalError',
    );
  if (asUser === undefined) return { user: account.user, groups: [...account.groups, 'system:authenticated'] };
  if (!account.mayImpersonate)
    throw new ApiError(
      403,
      `users "${asUser[0]}" is forbidden: User "${account.user}" cannot impersonate resource "users" in API group "" at the cluster scope`,
    );
  if (asUser.length !== 1) throw new ApiError(400, 'only one Impersonate-User header may be given');
  const extra: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(req.headersDistinct))
    if (name.startsWith('impersonate-extra-') && values) extra[decodeURIComponent(name.slice(18))] = values;
  const uid = req.headers['impersonate-uid'];
  return {
    user: asUser[0]!,
    groups: [...asGroups, 'system:authenticated'],
    ...(typeof uid === 'string' && { uid }),
    ...(Object.keys(extra).length > 0 && { extra }),
    impersonatedBy: account.user,
  };
}
