import { z } from 'zod';
import { FilterRule } from './filter.ts';
import { MAX_PREFIX_TEXT } from './ip/prefix.ts';
import { WireGuardKey } from './keys.ts';
import { Peer, SelfNode } from './node.ts';
import { PathReport } from './path-report.ts';
import { RouteHealthReport } from './route-health.ts';

/**
 * The map stream: `GET /api/v1/machine/map?since=V&seq=S` upgraded to a WebSocket, proved with
 * the machine key like every control request. The server sends one `full` map (or, when `since`
 * is still known, a `delta` from it) and then deltas. `version` grows with every message for
 * this node; an agent resumes by reconnecting with the last version it applied and, from
 * protocol 15, the last `changeSeq` it was sent: a replica that never served this node but can
 * tell from the change log what changed since `S` answers with a resume delta from `V` (which
 * also carries that replica's own settings: dns, relay, meshRanges) instead of a full map.
 */
/** The change-log position the map reflects (every change up to it; protocol 15). */
export const ChangeSeq = z.number().int().nonnegative();
export const DnsConfig = z.object({
  /** Mesh domain; peers resolve as `<name>.<domain>`. */
  domain: z.string(),
  nameservers: z.array(z.string()),
  /**
   * Mesh services (HA names): `<name>.<domain>` answers with these addresses, which the elected
   * replica of the service carries as a primary route. Absent from servers before 13: none.
   */
  services: z
    .array(z.object({ name: z.string().max(63), addresses: z.array(z.string().max(64)).max(2) }))
    .max(256)
    .optional(),
});
export type DnsConfig = z.infer<typeof DnsConfig>;

export const RelayConfig = z.object({
  /** Coordination server's UDP port for reflection and relaying; 0 when disabled. */
  udpPort: z.number().int().min(0).max(65535),
  /** WebSocket relay URL path on the control server's HTTP port. */
  wsPath: z.string(),
  /**
   * The server's WireGuard public key on `udpPort`; absent when the port is disabled. The agent
   * adds the server as a peer with this key (no allowed IPs, a persistent keepalive): the
   * server then observes its public mapping and relays for it. A peer is reached through the
   * relay by giving it the server's UDP endpoint as its endpoint (server/relay/README.md).
   */
  wireguardKey: WireGuardKey.optional(),
  /**
   * `ip:port` of the UDP port when the server knows an address agents can use; absent: the host
   * of the control URL with `udpPort`.
   */
  endpoint: z.string().optional(),
  /**
   * A second UDP port on the same host answering only STUN Binding requests (RFC 8489), as
   * `udpPort` also does; absent when off. Asking both from one socket shows whether the NAT
   * maps by destination (`trellis netcheck`).
   */
  stunPort: z.number().int().min(1).max(65535).optional(),
  /**
   * Names this run of the relay. The relay keeps its routes and the mappings it observed in
   * memory, so a new value (a server restart) tells agents it knows none of their sessions:
   * they handshake afresh with the server and with their relayed peers.
   */
  instance: z.string().max(64).optional(),
});
export type RelayConfig = z.infer<typeof RelayConfig>;

/**
 * The relay settings anyone may read (`GET /api/v1/relay/info`, no credential), for probing
 * reachability before joining: RelayConfig without the server's WireGuard key.
 */
export const RelayInfo = RelayConfig.pick({ udpPort: true, stunPort: true, wsPath: true, endpoint: true });
export type RelayInfo = z.infer<typeof RelayInfo>;

export const FullMap = z.object({
  type: z.literal('full'),
  version: z.number().int().nonnegative(),
  self: SelfNode,
  peers: z.array(Peer),
  packetFilter: z.array(FilterRule),
  dns: DnsConfig,
  relay: RelayConfig,
  /**
   * The mesh's address ranges (the server's network.ipv4Prefix and ipv6Prefix): the agent
   * routes them into the tunnel and keeps them from leaving by any other interface. Absent from
   * servers before it; the agent then uses its --mesh-ranges. The agent checks each as a CIDR
   * prefix itself: one it cannot read costs the map's ranges, not the whole map.
   */
  meshRanges: z.array(z.string().max(MAX_PREFIX_TEXT)).min(1).max(8).optional(),
  /** Set while the server runs its allow-all starter policy. */
  policyWarning: z.string().optional(),
  /** The protocol version the server speaks (protocol/version.ts); absent from servers before 8. */
  protocolVersion: z.number().int().positive().optional(),
  changeSeq: ChangeSeq.optional(),
});
export type FullMap = z.infer<typeof FullMap>;

/** Changes since `fromVersion`. Absent fields are unchanged. */
export const DeltaMap = z.object({
  type: z.literal('delta'),
  version: z.number().int().nonnegative(),
  fromVersion: z.number().int().nonnegative(),
  self: SelfNode.optional(),
  /** Peers added, or changed (sent whole). */
  peersUpserted: z.array(Peer).optional(),
  /** Ids of peers no longer visible. */
  peersRemoved: z.array(z.string()).optional(),
  packetFilter: z.array(FilterRule).optional(),
  policyWarning: z.string().nullable().optional(),
  changeSeq: ChangeSeq.optional(),
  /**
   * A resume delta from a replica other than the one that sent `fromVersion` carries that
   * replica's settings (each as in FullMap), which may differ from the last one's: its relay
   * above all. Absent: unchanged.
   */
  dns: DnsConfig.optional(),
  relay: RelayConfig.optional(),
  meshRanges: FullMap.shape.meshRanges,
  protocolVersion: FullMap.shape.protocolVersion,
});
export type DeltaMap = z.infer<typeof DeltaMap>;

/** Both directions: liveness. The receiver answers a ping with a pong carrying the same `t`. */
export const Ping = z.object({ type: z.literal('ping'), t: z.number() });
export type Ping = z.infer<typeof Ping>;
export const Pong = z.object({ type: z.literal('pong'), t: z.number() });
export type Pong = z.infer<typeof Pong>;

/** The server closes the stream with one of these before closing the socket for a reason. */
export const Goodbye = z.object({
  type: z.literal('goodbye'),
  code: z.string(),
  message: z.string(),
});
export type Goodbye = z.infer<typeof Goodbye>;

/**
 * Sent to both nodes of a pair at once, so that they switch to each other's direct candidates
 * at the same moment: each side's packets open its own NAT for the other's (hole punching).
 * `candidates` are the other node's: its reported endpoints and the one the server observed.
 */
export const PathTrial = z.object({
  type: z.literal('path-trial'),
  /** Names the attempt in both nodes' logs. */
  trial: z.string().max(64),
  peer: z.string().max(128),
  candidates: z.array(z.string()).max(17),
});
export type PathTrial = z.infer<typeof PathTrial>;

/**
 * The map the agent holds reflects every change up to `changeSeq` too (protocol 15): sent when
 * the log moved past a change that reached this node's map without a message of its own (the
 * replica that wrote it had sent the delta already), so that a resume elsewhere starts after it.
 */
export const SeqNote = z.object({ type: z.literal('seq'), changeSeq: ChangeSeq });
export type SeqNote = z.infer<typeof SeqNote>;

export const ServerMessage = z.discriminatedUnion('type', [FullMap, DeltaMap, Ping, Pong, Goodbye, PathTrial, SeqNote]);
export type ServerMessage = z.infer<typeof ServerMessage>;

/** Agent to server: liveness, its current endpoint candidates, and requests for direct paths. */
export const EndpointsUpdate = z.object({
  type: z.literal('endpoints'),
  endpoints: z.array(z.string()).max(16),
});
export type EndpointsUpdate = z.infer<typeof EndpointsUpdate>;
/** Agent to server: this relayed peer carries traffic; signal both of us to try a direct path. */
export const PathRequest = z.object({
  type: z.literal('path-request'),
  peer: z.string().max(128),
});
export type PathRequest = z.infer<typeof PathRequest>;
/** Agent to server: the health of this router's routes (protocol 9; see route-health.ts). */
export { RouteHealthReport };
/** Agent to server: how this node reaches its peers (protocol 14; see path-report.ts). */
export { PathReport };
export const ClientMessage = z.discriminatedUnion('type', [
  Ping,
  Pong,
  EndpointsUpdate,
  PathRequest,
  RouteHealthReport,
  PathReport,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** WebSocket close codes the server uses (4000-4999 is the application range). */
export const CloseCode = {
  nodeDeleted: 4001,
  nodeExpired: 4002,
  replaced: 4003,
  badMessage: 4004,
  shuttingDown: 4005,
  /** The replica lost its database: the agent moves to another one (server/replication/store-reachability.ts). */
  storeUnavailable: 4006,
} as const;
