import { z } from 'zod';
import { Route } from './route.ts';
import { PathSummary } from './path-report.ts';
import { RouteHealth, RouteRole } from './route-health.ts';

/** Admin API (`/api/v1`, API-key auth) bodies and answers. Times are ISO 8601. */
const Time = z.string().datetime();

export const UserView = z.object({
  id: z.string(),
  email: z.string(),
  displayName: z.string(),
  groups: z.array(z.string()),
  createdAt: Time,
  /** The user's own (untagged) machines; given by `GET /api/v1/users`, empty for a user without any. */
  machines: z.array(z.object({ id: z.string(), name: z.string(), online: z.boolean() })).optional(),
});
export type UserView = z.infer<typeof UserView>;

export const CreateUserRequest = z.strictObject({
  email: z.email().max(320),
  displayName: z.string().max(200).optional(),
  groups: z.array(z.string().max(200)).max(200).default([]),
});

export const NodeView = z.object({
  id: z.string(),
  name: z.string(),
  user: z.string().optional(),
  tags: z.array(z.string()),
  ipv4: z.string(),
  ipv6: z.string(),
  machineKey: z.string(),
  wireguardKey: z.string(),
  endpoints: z.array(z.string()),
  advertisedRoutes: z.array(z.string()),
  approvedRoutes: z.array(z.string()),
  /** `--route-priority`; absent: the default (100). */
  routePriority: z.number().int().optional(),
  ephemeral: z.boolean(),
  online: z.boolean(),
  /**
   * How the node reaches its peers, as it last reported on its open stream (agents from protocol
   * 14): counts of peers direct, relayed and without a path. Absent while offline or not reported.
   */
  paths: PathSummary.optional(),
  os: z.string().optional(),
  lastSeen: Time.optional(),
  expiresAt: Time.optional(),
  createdAt: Time,
});
export type NodeView = z.infer<typeof NodeView>;

export const RenameNodeRequest = z.strictObject({ name: z.string().min(1).max(63) });
export const SetTagsRequest = z.strictObject({
  tags: z.array(z.string().regex(/^tag:[A-Za-z][A-Za-z0-9-]*$/, 'must be tag:<name>')).max(64),
});
export const ApproveRoutesRequest = z.strictObject({ routes: z.array(Route).max(256) });

export const PreAuthKeyView = z.object({
  id: z.string(),
  user: z.string().optional(),
  reusable: z.boolean(),
  ephemeral: z.boolean(),
  tags: z.array(z.string()),
  usedCount: z.number(),
  expiresAt: Time,
  revoked: z.boolean(),
  description: z.string(),
  createdAt: Time,
});
export type PreAuthKeyView = z.infer<typeof PreAuthKeyView>;

export const ApiKeyView = z.object({
  id: z.string(),
  scopes: z.array(z.string()),
  description: z.string(),
  expiresAt: Time.optional(),
  lastUsedAt: Time.optional(),
  revoked: z.boolean(),
  createdAt: Time,
});
export type ApiKeyView = z.infer<typeof ApiKeyView>;

/** Answer to a key creation: the secret is shown this once and never again. */
export const IssuedPreAuthKey = z.object({ key: PreAuthKeyView, secret: z.string() });
export const IssuedApiKey = z.object({ key: ApiKeyView, secret: z.string() });

export const PolicyView = z.object({
  version: z.number(),
  text: z.string(),
  author: z.string(),
  starter: z.boolean(),
  createdAt: Time,
  /** Present while the allow-all starter policy is in force. */
  warning: z.string().optional(),
});
export type PolicyView = z.infer<typeof PolicyView>;

/**
 * The name of the uploaded file, so diagnostics point at it (`prod.hujson:3:9`) rather than at
 * the server's `policy.hujson`. Printable text only: it is echoed into one-line messages.
 */
const PolicyFileName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^\p{Cc}\p{Zl}\p{Zp}]+$/u, 'must be printable text on one line');

export const SetPolicyRequest = z.strictObject({
  policy: z.string().max(4 << 20),
  /** Optimistic concurrency: rejected with 409 if the current version is another. */
  ifVersion: z.number().int().nonnegative().optional(),
  fileName: PolicyFileName.optional(),
});
export const CheckPolicyRequest = z.strictObject({
  policy: z.string().max(4 << 20),
  fileName: PolicyFileName.optional(),
});
/** `POST /api/v1/policy/check`'s answer, and the other policy questions: protocol/policy-admin.ts. */
export { CheckPolicyResponse } from './policy-admin.ts';

/** One router of a prefix, as `GET /api/v1/routes` shows it. */
const RouterView = z.object({
  nodeId: z.string(),
  name: z.string(),
  role: RouteRole,
  /** Why it has this role, for a person. */
  reason: z.string(),
  priority: z.number().int(),
  online: z.boolean(),
  /** The router's last report for this prefix; absent when it sent none. */
  health: RouteHealth.optional(),
  tunnel: z.enum(['up', 'down']).optional(),
});

/**
 * `GET /api/v1/routes` (scope `read`): every advertised prefix, its primary, its standbys and why.
 * Exit routes (`0.0.0.0/0`, `::/0`) are listed with `exitNode` and no election: each client picks its exit node.
 */
export const PrefixView = z.object({
  prefix: z.string(),
  exitNode: z.boolean(),
  /** The elected router; absent when no approved router is online and healthy. */
  primary: z.object({ nodeId: z.string(), name: z.string() }).optional(),
  /** Names of the eligible routers that are not primary, in the order they would take over. */
  standbys: z.array(z.string()),
  /** Every router that advertises the prefix, best first. */
  routers: z.array(RouterView),
  /** Why the primary is the one it is (or why there is none). */
  reason: z.string(),
  /** When the primary last changed in this run of the server. */
  changedAt: Time.optional(),
});
export type PrefixView = z.infer<typeof PrefixView>;

export const listOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

/** A server replica on the shared database (GET /api/v1/replicas), as the answering replica sees it. */
export const ReplicaView = z.object({
  id: z.string(),
  /** The URL of its own HTTP port (`replica.advertise`). */
  address: z.string(),
  startedAt: Time,
  lastHeartbeat: Time,
  /** Its heartbeat is recent (within `replica.deadAfterMs`). */
  alive: z.boolean(),
  /**
   * Whether it runs the singleton jobs: exact for the answering replica, as of its last heartbeat
   * for the others (null from older servers, which could only tell for themselves).
   */
  leader: z.boolean().nullable(),
  /** The last change-log seq it applied, and how far behind the head that is. */
  appliedSeq: z.number().int(),
  headSeq: z.number().int(),
  lag: z.number().int(),
  /** Map streams open on it. */
  connected: z.number().int(),
  /** reachable / unreachable: known (this replica, or another whose heartbeat is recent); unknown: silent. */
  database: z.enum(['reachable', 'unreachable', 'unknown']),
  /** The replica that answered. */
  self: z.boolean(),
});
export type ReplicaView = z.infer<typeof ReplicaView>;
