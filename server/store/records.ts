import type { AUDIT_EVENT_KINDS } from '../../protocol/audit.ts';

/**
 * What the store keeps. Times are unix milliseconds; absent means none.
 * The database is the source of truth; memory is a cache rebuilt from it at start.
 */
export interface UserRecord {
  id: string;
  /** Identity provider issuer + subject, or `local:` for admin-created users. */
  subject: string;
  email: string;
  displayName: string;
  /** Groups claim from the identity provider, as of the last login. */
  groups: string[];
  createdAt: number;
}

export interface NodeRecord {
  id: string;
  name: string;
  machineKey: string;
  wireguardKey: string;
  ipv4: string;
  ipv6: string;
  /** Owning user; absent for tagged nodes. */
  userId?: string;
  tags: string[];
  endpoints: string[];
  advertisedRoutes: string[];
  approvedRoutes: string[];
  /** `--route-priority`: higher wins a prefix's election; absent: the default (protocol/route-health.ts). */
  routePriority?: number;
  ephemeral: boolean;
  os?: string;
  lastSeen?: number;
  expiresAt?: number;
  /** How the node proved who it is at its last sign-in; absent for nodes from before it was kept. */
  identity?: NodeIdentity;
  createdAt: number;
}

/** What a node's credential proved (never the credential itself). */
export type NodeIdentity =
  | { method: 'preauth-key'; keyId: string }
  | { method: 'oidc'; provider: string; issuer: string; subject: string; email: string }
  | { method: 'spiffe-jwt'; spiffeId: string; trustDomain: string }
  | {
      method: 'kubernetes';
      cluster: string;
      namespace: string;
      serviceAccount: string;
      serviceAccountUid?: string;
      podName?: string;
      podUid?: string;
      nodeName?: string;
    };

export interface PreAuthKeyRecord {
  id: string;
  /** SHA-256 of the secret part, hex. */
  secretHash: string;
  userId?: string;
  reusable: boolean;
  ephemeral: boolean;
  tags: string[];
  usedCount: number;
  expiresAt: number;
  revokedAt?: number;
  description: string;
  createdAt: number;
}

/** `routes` (approving a node's routes and exit node) is also granted by `nodes`. */
export const API_SCOPES = ['read', 'nodes', 'routes', 'users', 'keys', 'policy', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export interface ApiKeyRecord {
  id: string;
  secretHash: string;
  scopes: ApiScope[];
  description: string;
  expiresAt?: number;
  lastUsedAt?: number;
  revokedAt?: number;
  createdAt: number;
}

export interface PolicyRecord {
  version: number;
  text: string;
  author: string;
  /** True for the allow-all policy the server writes on first start. */
  starter: boolean;
  createdAt: number;
}

/**
 * A certificate authority of the mesh (server/pki/). The private key is PKCS#8 PEM: it never
 * leaves the server, never reaches a log or an answer.
 */
export interface AuthorityRecord {
  id: string;
  certificate: string;
  privateKey: string;
  notAfter: number;
  /**
   * When it signs from: its creation, or for a rotation's new CA the end of the grace period, so
   * the newest authority whose time has come is the one that signs (server/pki/README.md).
   */
  createdAt: number;
  /** Set once a newer authority signs instead; a retired one stays trusted while its leaves live. */
  retiredAt?: number;
  /**
   * The new CA of the rotation in progress: set when it is stored, cleared once the switch to it
   * is written down (finished, or its grace period lapsed). A unique index allows one at a time.
   */
  rotating?: true;
}

export type AuditKind = (typeof AUDIT_EVENT_KINDS)[number];

/** One audited event: who did what, proven how, from where, when, and whether it worked. */
export interface AuditRecord {
  /** Increasing: a later event has a larger id. */
  id: number;
  at: number;
  kind: AuditKind;
  outcome: 'success' | 'failure';
  /** Who: a user's email, `api-key:<id>`, a workload identity, or `system`. */
  actor?: string;
  /** How it was proven: preauth-key, oidc, spiffe-jwt, kubernetes, api-key. */
  method?: string;
  /** The proven identity in detail (SPIFFE ID, issuer and subject, ...). */
  identity?: string;
  nodeId?: string;
  /** The caller's network address. */
  source?: string;
  /** The error code of a failure, or the action of an admin event. */
  code?: string;
  message: string;
}

/**
 * A signed-in person's console session. The browser holds a random token in a cookie; the store
 * holds only its hash, so a copy of the database signs no one in. In the store (not in memory)
 * so that every replica behind one name knows every session.
 */
export interface ConsoleSessionRecord {
  /** SHA-256 of the cookie's token, hex. */
  id: string;
  userId: string;
  /** Sent back in the X-CSRF-Token header of every change; random, per session. */
  csrfToken: string;
  /** The identity provider that signed the person in. */
  provider: string;
  createdAt: number;
  lastSeenAt: number;
  /** The absolute end: the session ends then, however active. */
  expiresAt: number;
  /** The browser's address at sign-in. */
  source?: string;
}

/**
 * One running server replica (server/replication/), as it last reported itself. A replica
 * refreshes its row every `replica.heartbeatMs`; one silent past `replica.deadAfterMs` is dead.
 */
export interface ReplicaRecord {
  id: string;
  /** The URL of this replica's own HTTP port (not the load balancer's): other replicas and admins use it. */
  advertise: string;
  /** host:port of its inter-replica relay link (server/relay/); absent while it has none. */
  relayAddress?: string;
  startedAt: number;
  heartbeatAt: number;
  /** The last change-log sequence it applied. */
  appliedSeq: number;
  /** Map streams open on it at its last heartbeat. */
  connected: number;
  /** Whether it led (held the leadership lock) at its last heartbeat: how any replica knows who leads. */
  leading: boolean;
}

/**
 * Where a node's map stream is open, written by the replica holding it (soft state shared
 * through the store): every other replica shows the node online, with the endpoint that
 * replica's relay observed. Deleted when the stream closes, or by the leader when the replica dies.
 */
export interface PresenceRecord {
  nodeId: string;
  replicaId: string;
  /** Where the holding replica's UDP port last saw the node; absent until it has. */
  observedEndpoint?: string;
  /** The router's last route-health report on that stream (protocol/route-health.ts), as JSON. */
  routeHealth?: unknown;
  /** The node's last path summary on that stream (protocol/path-report.ts), as JSON. */
  paths?: unknown;
  since: number;
  /**
   * Routers only: until when (unix ms by the database's clock) the holding replica vouches for
   * the stream; it renews the lease while it holds the stream and reaches the database. The
   * leader's route election takes a router whose lease lapsed for down (server/routes/README.md).
   */
  leaseUntil?: number;
}

/**
 * A console sign-in between the redirect to the identity provider and its return
 * (server/console/console-sign-in.ts). In the store, so the return may reach any replica.
 */
export interface ConsoleSignInRecord {
  /** The OAuth state: names the sign-in, and is good for one return. */
  state: string;
  provider: string;
  nonce: string;
  codeVerifier: string;
  /** Ties the return to the browser that left (a cookie), so a link sent to someone else cannot finish it. */
  browserBinding: string;
  /** Where in the console to go afterwards. */
  next: string;
  createdAt: number;
  expiresAt: number;
}

/**
 * The primary router of one prefix, as the leader replica elected it (server/routes/): every
 * replica serves this one, so all agree. Soft state, rewritten by each new leader.
 */
export interface RoutePrimaryRecord {
  /** The prefix, or `prefix|tag:a,tag:b` for the election among a `via` grant's routers. */
  key: string;
  /** Absent: no router can carry the prefix now. */
  nodeId?: string;
  /** Why this router (or none), as the election said. */
  reason: string;
  changedAt: number;
  /** The replica that elected it. */
  electedBy: string;
}

/**
 * An agent's sign-in through an identity provider (server/identity/oidc/), from `trellis up`
 * to the node's registration. In the store, so that a sign-in started on one replica can be
 * continued, called back and used on any other.
 */
export interface LoginSessionRecord {
  id: string;
  /** The machine that started it: only it may wait for it and register with it. */
  machineKey: string;
  hostname: string;
  provider: string;
  mode: 'browser' | 'device';
  /** Bound to the authorization request (RFC 6749 state, OIDC nonce, PKCE verifier). */
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Set when a browser continues to the provider; the callback must come from that browser. */
  browserBinding?: string;
  createdAt: number;
  expiresAt: number;
  status: 'pending' | 'complete' | 'failed' | 'used';
  userId?: string;
  email?: string;
  /** What the provider proved, for the node's record. */
  proof?: { issuer: string; subject: string };
  error?: { code: string; message: string };
}

/** How a pending sign-in ends. */
export type LoginOutcome =
  | { status: 'complete'; userId: string; email: string; proof: { issuer: string; subject: string } }
  | { status: 'failed'; error: { code: string; message: string } };
