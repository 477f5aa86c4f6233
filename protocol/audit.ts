import { z } from 'zod';

/** `GET /api/v1/audit` (scope `read`): the audit trail, newest first, a page at a time. */
/**
 * `route.primary`: the server elected a new primary router for a prefix (or none is left).
 * `kube.request`: a request the Kubernetes API server proxy carried for a peer, as its node reported it.
 * `pki.issue`: the mesh CA issued (or refused) a certificate for a node (server/pki/).
 * `pki.rotation`: a CA rotation's grace period lapsed and its new CA signs by itself (written once).
 */
export const AUDIT_EVENT_KINDS = [
  'auth',
  'login',
  'node.register',
  'node.expire',
  'admin',
  'route.primary',
  'kube.request',
  'pki.issue',
  'pki.rotation',
] as const;

export const AuditListQuery = z.strictObject({
  /** ISO 8601 time: events at or after it. */
  since: z.iso.datetime({ offset: true }).optional(),
  /** ISO 8601 time: events before it. */
  until: z.iso.datetime({ offset: true }).optional(),
  kind: z.enum(AUDIT_EVENT_KINDS).optional(),
  outcome: z.enum(['success', 'failure']).optional(),
  /** Exactly this actor: an email, `api-key:<id>`, `system`. */
  actor: z.string().min(1).max(320).optional(),
  /** Codes starting with this: an action (`PUT /api/v1/policy`) or an area (`login.`). */
  action: z.string().min(1).max(200).optional(),
  /** Events about this node. */
  nodeId: z.string().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** `nextCursor` of the previous page. */
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, 'must be the nextCursor of a previous page')
    .optional(),
});
export type AuditListQuery = z.infer<typeof AuditListQuery>;

const AuditEventView = z.object({
  id: z.number(),
  at: z.string(),
  kind: z.enum(AUDIT_EVENT_KINDS),
  outcome: z.enum(['success', 'failure']),
  /** Who: a user's email, `api-key:<id>`, a workload identity or `system`. */
  actor: z.string().optional(),
  /** How it was proven: preauth-key, oidc, spiffe-jwt, kubernetes, api-key; mesh-address for a node's report. */
  method: z.string().optional(),
  identity: z.string().optional(),
  nodeId: z.string().optional(),
  /** The caller's network address. */
  source: z.string().optional(),
  /** A failure's error code, or what an admin did. */
  code: z.string().optional(),
  message: z.string(),
});

export const AuditPage = z.object({
  items: z.array(AuditEventView),
  /** Present when older events remain: pass it as `cursor`. */
  nextCursor: z.string().optional(),
});
export type AuditPage = z.infer<typeof AuditPage>;
