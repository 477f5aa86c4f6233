import { z } from 'zod';
import { PathSummary } from './path-report.ts';

/**
 * `GET /api/v1/console/events`: server-sent events, each named by its `type` (`event:` line)
 * with this JSON as its `data:`. A member receives only events about their own machines and no
 * policy or route events. A `: keep-alive` comment comes every 25 seconds. `node.paths` comes when
 * an online node's path counts change (its protocol 14 `paths` report, or another replica's row).
 */
export const LIVE_EVENT_TYPES = [
  'node.joined',
  'node.updated',
  'node.removed',
  'node.online',
  'node.offline',
  'node.paths',
  'route.primary',
  'policy.changed',
] as const;

export const LiveEvent = z.object({
  type: z.enum(LIVE_EVENT_TYPES),
  /** ISO 8601. */
  at: z.string(),
  /** node.*: the node; route.primary: the new primary, when there is one. */
  nodeId: z.string().optional(),
  name: z.string().optional(),
  /** node.paths: the node's peers by path now. */
  paths: PathSummary.optional(),
  /** node.removed: deleted, expired or ephemeral. */
  reason: z.string().optional(),
  /** route.primary: the prefix, and the routers before and after. */
  prefix: z.string().optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  /** policy.changed: the new version and who made it. */
  version: z.number().optional(),
  author: z.string().optional(),
});
export type LiveEvent = z.infer<typeof LiveEvent>;
