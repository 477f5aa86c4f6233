import { z } from 'zod';
import { MachineKey, WireGuardKey } from './keys.ts';

/** A node as its peers see it. Absent optional fields mean "unknown" or "none". */
export const Peer = z.object({
  /** Stable node id; never reused. */
  id: z.string(),
  /** DNS-safe name, unique in the mesh. */
  name: z.string(),
  wireguardKey: WireGuardKey,
  /** The node's own mesh addresses as host prefixes: `100.64.0.7/32`, `fd7a:…::7/128`. */
  addresses: z.array(z.string()),
  /** What WireGuard routes to this peer: its addresses plus approved routes. */
  allowedIPs: z.array(z.string()),
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
});
export type SelfNode = z.infer<typeof SelfNode>;
