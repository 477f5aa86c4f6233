import { z } from 'zod';
import { Route } from './route.ts';

/**
 * Gateways on the wire: what a router reports about the routes it carries, and what the server
 * tells it back about its part in each prefix's election. The server elects one primary per
 * prefix among the approved, online and healthy routers (server/routes/README.md); peers are
 * sent only the primary (`Peer.primaryRoutes`).
 */

/** How a router checks that it reaches what it routes. */
export const ProbeKind = z.enum(['tcp', 'icmp']);
export type ProbeKind = z.infer<typeof ProbeKind>;

const MAX_ERROR_TEXT = 256;

export const RouteProbe = z.strictObject({
  kind: ProbeKind,
  /** `ip:port` for `tcp` (`[v6]:port`), a bare IP for `icmp`; inside the route's prefix or reached through it. */
  target: z.string().min(1).max(64),
});
export type RouteProbe = z.infer<typeof RouteProbe>;

/** One advertised route, as its router last checked it. */
export const RouteHealth = z.strictObject({
  prefix: Route,
  /** The probe answered (or the route has no probe and the tunnel is up). */
  healthy: z.boolean(),
  /** The probe behind `healthy`; absent: the route has no probe, so only liveness and the tunnel count. */
  probe: RouteProbe.optional(),
  /** Why the last probe failed (`connect ECONNREFUSED`, `timeout after 1000 ms`); absent when it answered. */
  error: z.string().max(MAX_ERROR_TEXT).optional(),
  /** Consecutive failed probes so far; absent or 0 when the last one answered. */
  failures: z.number().int().min(0).max(1_000_000).optional(),
});
export type RouteHealth = z.infer<typeof RouteHealth>;

/**
 * Agent to server on the map stream (protocol 9): the whole health of this node's routes,
 * replacing the previous report. Sent when the stream opens, whenever a route's health or the
 * tunnel changes, and otherwise not at all (liveness is the stream's own heartbeat). Send it
 * only to servers whose map says `protocolVersion` >= 9: older servers end the stream on a
 * message they do not know. A route the report leaves out counts as healthy; the server keeps
 * the report only while the stream is open.
 */
export const RouteHealthReport = z.strictObject({
  type: z.literal('route-health'),
  /** `down`: the router's WireGuard device or its forwarding is not working; every route counts as unhealthy. */
  tunnel: z.enum(['up', 'down']),
  /** Why the tunnel is down, for status and the admin API. */
  tunnelError: z.string().max(MAX_ERROR_TEXT).optional(),
  routes: z.array(RouteHealth).max(256),
});
export type RouteHealthReport = z.infer<typeof RouteHealthReport>;

/**
 * A router's part in one prefix's election:
 * - `primary`: peers route the prefix to it;
 * - `standby`: eligible, another router is primary;
 * - `unhealthy`: online, but its tunnel is down or its probe fails (`reason` says which);
 * - `offline`: its map stream is gone or has gone silent;
 * - `unapproved`: advertised but not approved (by an admin or the policy's autoApprovers).
 */
export const RouteRole = z.enum(['primary', 'standby', 'unhealthy', 'offline', 'unapproved']);
export type RouteRole = z.infer<typeof RouteRole>;

/** One advertised route of a node, as the election sees it. */
export const RouteState = z.object({
  prefix: z.string(),
  role: RouteRole,
  /** For a person: `primary since 01:02:03Z`, `standby: router-a is primary`, `probe tcp 10.0.0.5:22 failed: timeout`. */
  reason: z.string(),
  /** The priority the election used: the node's --route-priority; higher wins. */
  priority: z.number().int(),
  /** The primary's node name when this router is not it; absent when there is none or this is it. */
  primary: z.string().optional(),
  /** The last health report for this route; absent when none was sent. */
  health: RouteHealth.optional(),
});
export type RouteState = z.infer<typeof RouteState>;

/** `--route-priority`: higher is preferred; a node that gives none has the default. */
export const RoutePriority = z.number().int().min(0).max(1000);
export const DEFAULT_ROUTE_PRIORITY = 100;
