import { z } from 'zod';
import { MachineKey, WireGuardKey } from './keys.ts';
import { RoutePriority, RouteState } from './route-health.ts';

/** A node as its peers see it. Absent optional fields mean "unknown" or "none". */
export const Peer = z.object({
  /** Stable node id; never reused. */
  id: z.string(),
  /** DNS-safe name, unique in the mesh. */
  name: z.string(),
  wireguardKey: WireGuardKey,
  /** The node's own mesh addresses as host prefixes: `100.64.0.7/32`, `fd7a:…::7/128`. */
  addresses: z.array(z.string()),
  /**
   * What WireGuard routes to this peer: its addresses plus `primaryRoutes` (protocol 9; before,
   * every approved route). Never the exit routes: those are in `exitRoutes`, for the agent to add
   * only when it uses this peer as its exit node.
   */
  allowedIPs: z.array(z.string()),
  /**
   * Subnet prefixes this viewer should route to this peer (protocol 9): the routes the peer is
   * the elected primary router of for this viewer (one router per prefix, `via` grants may pick
   * another per viewer). An agent routes them only with --accept-routes; the rest are "offered,
   * not accepted". A prefix with no healthy router is nobody's: the viewer's route for a less
   * specific prefix then carries its traffic. Absent: none.
   */
  primaryRoutes: z.array(z.string()).optional(),
  /**
   * `0.0.0.0/0` and/or `::/0` (protocol 9): this peer is an approved exit node that the policy
   * (`autogroup:internet`) lets this viewer use. Present whether or not the peer is online, so
   * the agent can say "exit node X offline" and keep blocking. Absent: not an exit node for it.
   */
  exitRoutes: z.array(z.string()).optional(),
  /** Candidate `ip:port` / `[v6]:port` endpoints, best first. */
  endpoints: z.array(z.string()),
  /**
   * The public `ip:port` the server's UDP port last saw this node's WireGuard packets come from
   * (authenticated, as STUN would report it: the node's NAT mapping towards the server). Not in
   * `endpoints`, which are what the node itself reported. Absent: the node has no tunnel to the
   * server, or it fell silent.
   */
  observedEndpoint: z.string().optional(),
  /** Owner's login (email); absent for tagged nodes, which have no user identity. */
  user: z.string().optional(),
  tags: z.array(z.string()),
  online: z.boolean(),
  lastSeen: z.string().datetime().optional(),
  keyExpiry: z.string().datetime().optional(),
});
export type Peer = z.infer<typeof Peer>;

/** The node's own record, as sent to itself. */
export const SelfNode = Peer.extend({
  machineKey: MachineKey,
  ipv4: z.string(),
  ipv6: z.string(),
  ephemeral: z.boolean(),
  advertisedRoutes: z.array(z.string()),
  approvedRoutes: z.array(z.string()),
  /** The priority this node's routes carry in elections (protocol 9); absent: the default, 100. */
  routePriority: RoutePriority.optional(),
  /**
   * Each advertised route and this node's part in its election (protocol 9), for `trellis status`
   * on the router. Exit routes appear too, as `primary` once approved (exit nodes are not elected:
   * each client picks its own). Absent: no advertised routes, or a server before 9.
   */
  routes: z.array(RouteState).optional(),
});
export type SelfNode = z.infer<typeof SelfNode>;
