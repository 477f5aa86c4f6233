import { z } from 'zod';

/**
 * `POST /api/v1/machine/audit` (a machine-key proof): a node reports what a service on it
 * decided for mesh peers, so that it lands in the one audit trail beside every other event.
 * The server records the reporting node from the proof, never from the body: an event says
 * "node X reports", and a report can only ever speak for the node that signed it.
 */

/** One request the Kubernetes API server proxy carried (or refused) for a mesh peer. */
export const KubeRequestEvent = z.strictObject({
  kind: z.literal('kube.request'),
  /** The caller as the proxy identified it from the mesh source address (never from the request). */
  caller: z.strictObject({
    /** The login the proxy impersonated: a user's email, or a tagged node's name. */
    login: z.string().min(1).max(320),
    nodeId: z.string().min(1).max(64),
    nodeName: z.string().min(1).max(253),
    /** The caller's mesh address (the TCP source). */
    address: z.string().min(2).max(45),
  }),
  /** The groups forwarded as Impersonate-Group (auth mode); absent in noauth mode. */
  groups: z.array(z.string().min(1).max(253)).max(64).optional(),
  /** The Kubernetes verb: get, list, watch, create, patch, ..., or the HTTP method for non-resource paths. */
  verb: z.string().min(1).max(32),
  /** `pods`, `pods/exec`, `namespaces`; for a non-resource URL (`/version`) the path. */
  resource: z.string().min(1).max(512),
  apiGroup: z.string().max(253).optional(),
  namespace: z.string().min(1).max(253).optional(),
  name: z.string().min(1).max(253).optional(),
  /** The HTTP status the caller got (101 for an upgraded exec, attach or port-forward). */
  status: z.number().int().min(100).max(599),
  /** Set when the proxy itself refused or failed the request: its error code. */
  code: z
    .string()
    .regex(/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/)
    .optional(),
  /** auth (impersonating) or noauth (the caller's own credentials). */
  mode: z.enum(['auth', 'noauth']),
});
export type KubeRequestEvent = z.infer<typeof KubeRequestEvent>;

export const NODE_AUDIT_MAX_EVENTS = 100;

export const NodeAuditReport = z.strictObject({
  events: z.array(KubeRequestEvent).min(1).max(NODE_AUDIT_MAX_EVENTS),
});
export type NodeAuditReport = z.infer<typeof NodeAuditReport>;
