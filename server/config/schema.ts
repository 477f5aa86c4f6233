import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { z } from 'zod';
import { prefixText } from '../../protocol/ip/schema.ts';
import { ConsoleConfig } from './console-schema.ts';
import { KubernetesConfig, OidcConfig, SpiffeConfig } from './identity-schema.ts';
import { StoreConfig } from './store-schema.ts';

/** Every setting the server has, with its default. Keys are the YAML keys. */
export const ServerConfig = z.strictObject({
  /** Where SQLite and the server's own keys live. */
  dataDir: z.string().min(1).default('./data'),
  /** The database: SQLite in dataDir (default), or PostgreSQL for several replicas (store-schema.ts). */
  store: StoreConfig,
  listen: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /**
       * Behind a reverse proxy that terminates TLS: believe its X-Forwarded-Proto, so that
       * cookies are marked Secure when the browser speaks https. Only with a proxy in front:
       * anyone else could send the header.
       */
      trustProxy: z.boolean().default(false),
      /**
       * Behind load balancers in TCP mode (haproxy `send-proxy-v2`): the addresses (IPs, CIDRs)
       * that must start every connection with a PROXY header (v2, or v1) naming the client, so
       * rate limits, audit and logs see clients, not the load balancer. A connection from one of
       * them without a valid header is closed; from anyone else a header is never believed.
       */
      proxyProtocol: z
        .strictObject({
          from: z.array(prefixText()).max(256).default([]),
          /** Milliseconds a trusted peer has to send its whole header after connecting. */
          headerTimeoutMs: z.number().int().min(100).max(60_000).default(3_000),
        })
        .prefault({}),
    })
    .prefault({}),
  /** The URL agents use to reach this server; defaults to http://host:port. */
  publicUrl: z.url().optional(),
  /**
   * This process as one of several replicas on one database (server/replication/README.md). On
   * SQLite there is only ever one; the defaults need no setting.
   */
  replica: z
    .strictObject({
      /** Names this replica in the replicas table, the metrics and the logs; unique among the running ones. */
      id: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, dots, dashes or underscores')
        .default(() => defaultReplicaId()),
      /**
       * The URL other replicas and admins reach this replica's own HTTP port at (not the load
       * balancer's); default: publicUrl, else the listen address.
       */
      advertise: z.url().optional(),
      /** Milliseconds between this replica's heartbeats in the replicas table. */
      heartbeatMs: z.number().int().min(100).max(60_000).default(2_000),
      /** A replica silent this long is dead: the leader expires its nodes' presence. */
      deadAfterMs: z.number().int().min(300).max(600_000).default(10_000),
      /**
       * A replica that has not reached the database this long is cut off: it refuses writes and
       * new map streams, closes the ones it has and reports not ready until the database is back.
       */
      cutOffMs: z.number().int().min(200).max(600_000).default(5_000),
      /**
       * PostgreSQL: a router's (or exit node's) presence row is leased this long by the replica
       * holding its stream, renewed every third of it; the leader takes a router whose lease
       * lapsed for down and moves its routes, without waiting for `deadAfterMs`.
       */
      routerLeaseMs: z.number().int().min(300).max(60_000).default(3_000),
      /** Change-log rows older than this are pruned by the leader (never past a live replica's applied seq). */
      changeRetentionHours: z
        .number()
        .min(0.001)
        .max(24 * 365)
        .default(24),
    })
    .prefault({})
    .refine((r) => r.deadAfterMs >= 2 * r.heartbeatMs, {
      path: ['deadAfterMs'],
      message: 'must be at least twice replica.heartbeatMs, or one late heartbeat declares a live replica dead',
    }),
  relay: z
    .strictObject({
      /** UDP port for reflection and relaying (0: pick any; -1: disabled). */
      udpPort: z.number().int().min(-1).max(65535).default(3478),
      /**
       * Second UDP port answering only STUN Binding requests, so that `trellis netcheck` can tell
       * whether a NAT maps by destination (0: pick any; -1: off). Default: `udpPort` + 1, or pick
       * when `udpPort` is 0; off with the relay.
       */
      stunPort: z.number().int().min(-1).max(65535).optional(),
      /**
       * The IP address agents (and the other replicas' relays) send this replica's relay UDP to,
       * announced in the maps this replica sends. Default: the public URL's host when it is an
       * IP, else a specific listen address. Each replica names its own.
       */
      publicHost: z
        .string()
        .refine((s) => isIP(s) !== 0, 'must be an IP address')
        .optional(),
      /**
       * Several replicas: the secret their relays authenticate the link between them with (the
       * same on every replica, 32 characters at least; server/relay/README.md). Absent: no link,
       * and nodes whose relays are different replicas' reach each other only directly.
       */
      linkSecret: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').optional(),
    })
    .prefault({})
    .refine((r) => r.stunPort === undefined || r.stunPort < 0 || r.udpPort >= 0, {
      path: ['stunPort'],
      message: 'needs the relay: relay.udpPort is -1',
    })
    .refine((r) => r.stunPort === undefined || r.stunPort <= 0 || r.stunPort !== r.udpPort, {
      path: ['stunPort'],
      message: 'must differ from relay.udpPort',
    })
    .transform((r) => ({ ...r, stunPort: r.stunPort ?? defaultStunPort(r.udpPort) })),
  network: z
    .strictObject({
      ipv4Prefix: z.string().default('100.64.0.0/10'),
      ipv6Prefix: z.string().default('fd7a:115c:a1e0::/48'),
      domain: z
        .string()
        .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, 'must be a DNS domain')
        .default('mesh.trellis.internal'),
      /** Resolvers the agents send names that are not the mesh's to (default: each machine's own). */
      nameservers: z.array(z.string().refine((s) => isIP(s) !== 0, 'must be an IP address')).default([]),
    })
    .prefault({}),
  nodes: z
    .strictObject({
      /** Seconds an ephemeral node survives after its map stream closes. */
      // At most what a Node timer can wait (2^31 - 1 ms): a longer one fires at once.
      ephemeralGraceSeconds: z.number().int().min(0).max(2_147_483).default(120),
      /** Seconds between map-stream heartbeats; a peer that misses three is dropped. */
      heartbeatSeconds: z.number().int().min(1).max(600).default(30),
      /** Key expiry for nodes of SSO users, in seconds (0: never). */
      keyExpirySeconds: z
        .number()
        .int()
        .min(0)
        // Ten years: now + expiry must stay a time the store can hold (protocol/time.ts).
        .max(10 * 365 * 24 * 3600)
        .default(180 * 24 * 3600),
    })
    .prefault({}),
  routes: z
    .strictObject({
      /**
       * Milliseconds between heartbeats on a router's map stream; a router silent for three of
       * them is offline and its prefixes fail over (a killed host or a cut uplink closes no TCP
       * connection). The default gives failover within about 1.5 s.
       */
      heartbeatMs: z.number().int().min(100).max(60_000).default(500),
      /** A recovered router with a higher priority takes its prefixes back. Off: the primary stays while healthy. */
      preempt: z.boolean().default(false),
      /**
       * With preempt: how long a recovered router must stay eligible (online, tunnel up, probes
       * answering) without a break before it takes a prefix back, so a flapping router does not
       * flap the primary.
       */
      preemptHoldDownMs: z.number().int().min(0).max(3_600_000).default(10_000),
    })
    .prefault({}),
  limits: z
    .strictObject({
      /** Largest request body, in bytes. */
      maxBodyBytes: z
        .number()
        .int()
        .min(1024)
        .default(1 << 20),
      /** Join and auth attempts per source address per minute. */
      authPerMinute: z.number().int().min(1).default(120),
    })
    .prefault({}),
  /** Sign-in for people (identity-schema.ts). */
  oidc: OidcConfig,
  /** Workloads proving themselves with JWT-SVIDs. */
  spiffe: SpiffeConfig,
  /** Workloads proving themselves with projected service-account tokens. */
  kubernetes: KubernetesConfig,
  /**
   * Mesh services: a name and an address pair served by several replicas (HA), one at a time,
   * picked by the route election (server/services/README.md).
   */
  services: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a DNS label (kube-api)'),
        /** Tags of the nodes that may serve it. */
        servedBy: z.array(z.string().regex(/^tag:[a-z0-9][a-z0-9-]*$/, 'must be a tag (tag:k8s-proxy)')).min(1),
      }),
    )
    .max(256)
    .default([])
    .refine((list) => new Set(list.map((s) => s.name)).size === list.length, 'service names must be unique'),
  /** The mesh's certificate authority (server/pki/README.md). */
  pki: z
    .strictObject({
      /**
       * How long a node's certificate is valid, in seconds (never past the node's key expiry).
       * Short: nothing revokes a certificate, so its life is how long a stolen key is worth anything.
       */
      certificateSeconds: z
        .number()
        .int()
        .min(300)
        .max(90 * 24 * 3600)
        .default(24 * 3600),
      /** How long a new CA is valid, in days; `trellis kubeconfig` embeds it, so long. */
      authorityDays: z.number().int().min(1).max(36_500).default(3650),
      /** Certificates one node may be issued per hour (renewals need a handful a day). */
      issuesPerHour: z.number().int().min(1).max(10_000).default(30),
    })
    .prefault({}),
  /** The admin console: roles and sessions (console-schema.ts). */
  console: ConsoleConfig,
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  audit: z
    .strictObject({
      /**
       * Days an audit event is kept; older ones are deleted hourly. 0 (the default) keeps them
       * forever: deleting history must be the operator's choice, never an upgrade's.
       */
      retentionDays: z.number().int().min(0).max(36_500).default(0),
    })
    .prefault({}),
});
export type ServerConfig = z.infer<typeof ServerConfig>;

/** Stable for the life of the process, different for two processes on one host. */
function defaultReplicaId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 48) || 'replica';
  return `${host}-${process.pid}`.replace(/^[^A-Za-z0-9]/, 'r');
}

function defaultStunPort(udpPort: number): number {
  if (udpPort < 0) return -1;
  return udpPort === 0 || udpPort === 65535 ? 0 : udpPort + 1;
}
