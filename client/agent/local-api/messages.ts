import { z } from 'zod';
import { Credential } from '../../../protocol/join.ts';
import { CertificateName } from '../../../protocol/pki.ts';
import { WorkloadSpec } from '../../identity/workload-spec.ts';
import { Route } from '../../../protocol/route.ts';
import { RouteProbe, RoutePriority, RouteRole } from '../../../protocol/route-health.ts';

/**
 * The local API between the `trellis` CLI and the running agent: JSON over HTTP on a unix
 * socket. Both sides import these schemas; the agent validates every request with them.
 */
/** The URLs of one server's replicas, tried in turn (client/control/server-list.ts). */
const ServerUrls = z
  .array(z.url({ protocol: /^https?$/ }))
  .min(1)
  .max(16);

export const UpRequest = z
  .strictObject({
    /** Absent: the server the node joined before, or the agent's --server. */
    serverUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** Several replicas of one server (`--server` repeated or a comma list); the first is `serverUrl`. */
    serverUrls: ServerUrls.optional(),
    /** Absent: reconnect with the identity the node already has. */
    credential: Credential.optional(),
    /** A workload: the agent reads the token itself, and registers again with each new one. */
    workload: WorkloadSpec.optional(),
    hostname: z.string().min(1).max(253).optional(),
    advertiseRoutes: z.array(z.string()).max(256).optional(),
    advertiseTags: z.array(z.string()).max(64).optional(),
    /** Masquerade mesh traffic into the advertised subnets (default true); false for site-to-site. */
    snatSubnetRoutes: z.boolean().optional(),
    /** Sources without an agent (CIDR prefixes) whose mesh traffic this node masquerades to its own mesh address. */
    gatewayFor: z.array(Route).max(256).optional(),
    /** Route the subnet routes peers offer (default false). */
    acceptRoutes: z.boolean().optional(),
    /** Offered routes to route even where they would capture the LAN, the default route or the server. */
    acceptRoutesForce: z.array(Route).max(256).optional(),
    /** A health probe per advertised route (`--route-probe`); replaces the previous list. */
    routeProbes: z
      .array(z.strictObject({ prefix: Route, probe: RouteProbe }))
      .max(256)
      .optional(),
    /** This router's priority in its routes' elections (higher wins; server default 100). */
    routePriority: RoutePriority.optional(),
    /**
     * The mesh services this node serves as a replica (`--serve NAME[=tcp:PORT]`): it takes their
     * addresses, which the server approves for the services' servedBy tags; with a port, the
     * replica is healthy while something answers there. Replaces the previous list; [] for none.
     */
    serve: z
      .array(
        z.strictObject({
          name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a service name (a DNS label)'),
          probePort: z.number().int().min(1).max(65535).optional(),
        }),
      )
      .max(16)
      .optional(),
    /** Offer this node as an exit node (0.0.0.0/0 and ::/0 with the advertised routes); absent: as before. */
    advertiseExitNode: z.boolean().optional(),
    /** Send all traffic through this exit node (a name, a mesh address, or `auto`); '' deselects; absent: as before. */
    exitNode: z.string().max(253).optional(),
    /** With an exit node, keep the LAN reachable outside the tunnel; absent: as before. */
    exitNodeAllowLanAccess: z.boolean().optional(),
    /** How long to wait for the first map to be applied. */
    waitMs: z.number().int().min(0).max(120_000).optional(),
  })
  .refine((r) => !(r.credential && r.workload), {
    message: 'give a credential or a workload token source, not both',
    path: ['workload'],
  });
export type UpRequest = z.infer<typeof UpRequest>;

/** `POST /v1/login`: the agent signs a person in through the server's identity provider. */
export const LoginRequest = z.strictObject({
  serverUrl: z.url({ protocol: /^https?$/ }).optional(),
  serverUrls: ServerUrls.optional(),
  /** A provider's name on the server; its first one when absent. */
  provider: z.string().min(1).max(63).optional(),
  /** Prefer the device flow (a code to enter on another device). */
  device: z.boolean().optional(),
  hostname: z.string().min(1).max(253).optional(),
  advertiseRoutes: z.array(z.string()).max(256).optional(),
  advertiseTags: z.array(z.string()).max(64).optional(),
  /** Once signed in, how long to wait for the first map. */
  waitMs: z.number().int().min(0).max(120_000).optional(),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

const LoginPrompt = z.object({
  url: z.string(),
  mode: z.enum(['browser', 'device']),
  userCode: z.string().optional(),
  verificationCode: z.string().optional(),
  expiresAt: z.string(),
});

export const LoginStarted = z.object({ id: z.string(), prompt: LoginPrompt });
export type LoginStarted = z.infer<typeof LoginStarted>;

/** `POST /v1/login/wait`: long poll; `DELETE /v1/login?id=` cancels. */
export const LoginWaitRequest = z.strictObject({
  id: z.string().min(1).max(64),
  waitMs: z.number().int().min(0).max(60_000).default(25_000),
});

export const AgentState = z.enum(['needs-login', 'stopped', 'starting', 'running']);
export type AgentState = z.infer<typeof AgentState>;

export const PeerStatus = z.object({
  id: z.string(),
  name: z.string(),
  publicKey: z.string(),
  addresses: z.array(z.string()),
  allowedIPs: z.array(z.string()),
  user: z.string().optional(),
  tags: z.array(z.string()),
  online: z.boolean(),
  endpoint: z.string().optional(),
  /**
   * How packets reach the peer: `direct` to `endpoint`, or through the server's `relay`; and the
   * last measured round trip over that path (the agents' path probe).
   */
  path: z.enum(['direct', 'relay']).optional(),
  latencyMs: z.number().optional(),
  lastHandshake: z.string().optional(),
  rxBytes: z.number(),
  txBytes: z.number(),
});
export type PeerStatus = z.infer<typeof PeerStatus>;

const SelfStatus = z.object({
  id: z.string(),
  name: z.string(),
  publicKey: z.string(),
  ipv4: z.string(),
  ipv6: z.string(),
  user: z.string().optional(),
  tags: z.array(z.string()),
  /**
   * The subnet routes this node advertises. An approved one is routed to this node by its peers;
   * the others wait for an administrator (`trellis-server nodes approve-routes`) or for the
   * policy's autoApprovers, and carry nothing until then.
   */
  routes: z
    .array(
      z.object({
        prefix: z.string(),
        approved: z.boolean(),
        /** This router's part in the prefix's election and why (servers from protocol 9). */
        role: RouteRole.optional(),
        reason: z.string().optional(),
        /** The last health this router reported for the prefix (its --route-probe). */
        health: z.object({ healthy: z.boolean(), error: z.string().optional() }).optional(),
      }),
    )
    .optional(),
  /**
   * The mesh services this node serves (`trellis up --serve`): their addresses, which this node
   * holds as its own; whether the server approved them; and this replica's part in the election
   * (`primary`: peers reach the service here). `unknown`: the server names no such service.
   */
  services: z
    .array(
      z.object({
        name: z.string(),
        state: z.enum(['primary', 'standby', 'unhealthy', 'offline', 'unapproved', 'pending', 'unknown']),
        addresses: z.array(z.string()),
        reason: z.string().optional(),
      }),
    )
    .optional(),
});

/** A subnet route a peer offers this machine: its primary router, and whether this machine routes it. */
const OfferedRouteStatus = z.object({
  prefix: z.string(),
  /** The peer that is the prefix's primary router. */
  via: z.string(),
  /** `not-accepted`: --accept-routes is off; `refused`: it would cut this machine off (see refusal). */
  state: z.enum(['accepted', 'not-accepted', 'refused']),
  refusal: z.object({ code: z.string(), message: z.string() }).optional(),
  /** Routed despite the refusal (--accept-routes-force). */
  forced: z.boolean().optional(),
});

export const StatusResponse = z.object({
  state: AgentState,
  /** Whether the map stream to the server is open right now. */
  connected: z.boolean(),
  serverUrl: z.string().optional(),
  /** Every replica the node may use, when it was given several. */
  serverUrls: z.array(z.string()).optional(),
  /** The replica the map stream is on now (or tried last). */
  connectedTo: z.string().optional(),
  interface: z.string(),
  listenPort: z.number(),
  mapVersion: z.number(),
  /** The protocol versions of this agent and of the server (from its map; absent before it names one). */
  protocol: z.object({ agent: z.number(), server: z.number().optional() }).optional(),
  /** How WireGuard reaches the server's relay: its UDP port, or a WebSocket where UDP is blocked. */
  relayTransport: z.enum(['udp', 'websocket']).optional(),
  /** Mesh names: the domain, the agent's DNS server, and which system resolver sends it queries. */
  dns: z.object({ domain: z.string(), server: z.string(), system: z.enum(['systemd-resolved', 'none']) }).optional(),
  self: SelfStatus.optional(),
  /** The mesh's services (HA names, `<name>.<domain>`) and their addresses, as the map names them. */
  services: z.array(z.object({ name: z.string(), addresses: z.array(z.string()) })).optional(),
  /** Subnet routes peers offer, accepted or not; absent when none is offered. */
  subnetRoutes: z.array(OfferedRouteStatus).optional(),
  /**
   * The exit node this node sends its traffic through, while one is selected. `killSwitch`: the
   * kill switch is in force (it stays when the agent dies); `message` says why traffic is blocked.
   */
  exitNode: z
    .object({
      wanted: z.string(),
      name: z.string().optional(),
      id: z.string().optional(),
      online: z.boolean(),
      allowLanAccess: z.boolean(),
      killSwitch: z.boolean(),
      message: z.string().optional(),
    })
    .optional(),
  /** The exit nodes offered to this node (peers with an approved exit route the policy lets it use). */
  exitNodeOptions: z.array(z.object({ id: z.string(), name: z.string(), online: z.boolean() })).optional(),
  peers: z.array(PeerStatus),
  policyWarning: z.string().optional(),
  lastError: z.string().optional(),
  /** When this node's key expires (SSO nodes by the server's nodes.keyExpirySeconds; workloads with their token). */
  keyExpiry: z.string().optional(),
  /** Set when a person must sign in again soon (or now) to keep this node in the mesh. */
  signIn: z.object({ state: z.enum(['soon', 'expired']), message: z.string() }).optional(),
  /** A workload node: where its token comes from and how renewal goes. */
  workload: z
    .object({
      source: z.string(),
      lastRenewal: z.string().optional(),
      expiresAt: z.string().optional(),
      lastError: z.string().optional(),
    })
    .optional(),
});
export type StatusResponse = z.infer<typeof StatusResponse>;

/**
 * `GET /v1/whois?ip=IP`: who is at a mesh address, and what it may do here. A local service that
 * accepted a connection from IP asks this to decide (the Kubernetes API proxy does): `node.user`
 * is the owner's login, absent for a tagged node, which is known by `node.name` and `node.tags`;
 * `capMap` holds the application capabilities that IP holds towards THIS node, by name, each with
 * the values of every `app` grant that gives it (`{}` when none): the policy's
 * `"app": {"trellis.dev/cap/kubernetes": [{"impersonate": {"groups": ["sre"]}}]}` arrives as
 * `capMap["trellis.dev/cap/kubernetes"] = [{"impersonate": {"groups": ["sre"]}}]`.
 */
export const WhoisResponse = z.object({
  ip: z.string(),
  node: z.object({
    id: z.string(),
    name: z.string(),
    self: z.boolean(),
    addresses: z.array(z.string()),
    user: z.string().optional(),
    tags: z.array(z.string()),
    /** The prefix of the node that matched (an address, or an approved subnet route). */
    matched: z.string(),
  }),
  /** Capability name -> values, granted to `ip` towards this node; absent from agents before it: none. */
  capMap: z.record(z.string(), z.array(z.unknown())).default({}),
});
export type WhoisResponse = z.infer<typeof WhoisResponse>;

export const LoginWaitResponse = z.discriminatedUnion('status', [
  z.object({ status: z.literal('pending') }),
  z.object({ status: z.literal('complete'), result: StatusResponse }),
]);
export type LoginWaitResponse = z.infer<typeof LoginWaitResponse>;

export const ErrorResponse = z.object({ code: z.string(), message: z.string() });

/**
 * `POST /v1/certificate`: a TLS certificate from the mesh CA for a local service, kept renewed by
 * the agent (ask again after `renewAfter` for the new one). Absent names: this node's own mesh name.
 */
export const CertificateAsk = z.strictObject({
  names: z.array(CertificateName).min(1).max(8).optional(),
});
export type CertificateAsk = z.infer<typeof CertificateAsk>;

export const CertificateAnswer = z.object({
  names: z.array(z.string()),
  /** PEM leaf certificate. */
  certificate: z.string(),
  /** PEM PKCS#8 private key of the certificate; made by this agent, never sent to the server. */
  key: z.string(),
  /** PEM CA certificates that clients should trust for these names. */
  authorities: z.array(z.string()),
  notBefore: z.string(),
  notAfter: z.string(),
  renewAfter: z.string(),
});
export type CertificateAnswer = z.infer<typeof CertificateAnswer>;
