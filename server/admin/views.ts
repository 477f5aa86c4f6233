import type { ApiKeyView, NodeView, PreAuthKeyView, UserView } from '../../protocol/admin.ts';
import type { PathSummary } from '../../protocol/path-report.ts';
import type { ApiKeyRecord, NodeRecord, PreAuthKeyRecord, UserRecord } from '../store/records.ts';
import { isoTime } from '../../protocol/time.ts';

/** Records to their admin API form: no secrets, ISO times, user emails instead of ids. */
const iso = isoTime;
const isoOpt = (ms: number | undefined) => (ms === undefined ? undefined : iso(ms));

export function userView(u: UserRecord): UserView {
  return { id: u.id, email: u.email, displayName: u.displayName, groups: u.groups, createdAt: iso(u.createdAt) };
}

/** What the map engine knows of a node beyond its record. */
export interface NodeLiveness {
  online: boolean;
  paths?: PathSummary | undefined;
}

export function nodeView(
  n: NodeRecord,
  emailOf: (userId: string) => string | undefined,
  { online, paths }: NodeLiveness,
): NodeView {
  return {
    id: n.id,
    name: n.name,
    user: n.userId ? emailOf(n.userId) : undefined,
    tags: n.tags,
    ipv4: n.ipv4,
    ipv6: n.ipv6,
    machineKey: n.machineKey,
    wireguardKey: n.wireguardKey,
    endpoints: n.endpoints,
    advertisedRoutes: n.advertisedRoutes,
    approvedRoutes: n.approvedRoutes,
    ...(n.routePriority !== undefined && { routePriority: n.routePriority }),
    ephemeral: n.ephemeral,
    online,
    ...(paths && { paths }),
    os: n.os,
    lastSeen: isoOpt(n.lastSeen),
    expiresAt: isoOpt(n.expiresAt),
    createdAt: iso(n.createdAt),
  };
}

export function preAuthKeyView(k: PreAuthKeyRecord, emailOf: (userId: string) => string | undefined): PreAuthKeyView {
  return {
    id: k.id,
    user: k.userId ? emailOf(k.userId) : undefined,
    reusable: k.reusable,
    ephemeral: k.ephemeral,
    tags: k.tags,
    usedCount: k.usedCount,
    expiresAt: iso(k.expiresAt),
    revoked: k.revokedAt !== undefined,
    description: k.description,
    createdAt: iso(k.createdAt),
  };
}

export function apiKeyView(k: ApiKeyRecord): ApiKeyView {
  return {
    id: k.id,
    scopes: k.scopes,
    description: k.description,
    expiresAt: isoOpt(k.expiresAt),
    lastUsedAt: isoOpt(k.lastUsedAt),
    revoked: k.revokedAt !== undefined,
    createdAt: iso(k.createdAt),
  };
}
