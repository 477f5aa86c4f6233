import type Database from 'better-sqlite3';
import { nodeKeysAsBytes } from './keys-as-bytes.ts';

/** SQL, or for what SQL cannot do (decoding base64, checking keys) a function of the database. */
type Migration = string | ((db: Database.Database, now: number) => void);

/**
 * Schema migrations, applied in order at start inside one transaction each. Append only:
 * never edit a migration that has shipped. Must match schema.ts.
 */
export const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    groups TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    machine_key TEXT NOT NULL UNIQUE,
    wireguard_key TEXT NOT NULL UNIQUE,
    ipv4 TEXT NOT NULL UNIQUE,
    ipv6 TEXT NOT NULL UNIQUE,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    tags TEXT NOT NULL,
    endpoints TEXT NOT NULL,
    advertised_routes TEXT NOT NULL,
    approved_routes TEXT NOT NULL,
    ephemeral INTEGER NOT NULL,
    os TEXT,
    last_seen INTEGER,
    expires_at INTEGER,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX nodes_user ON nodes(user_id);
  CREATE TABLE preauth_keys (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    reusable INTEGER NOT NULL,
    ephemeral INTEGER NOT NULL,
    tags TEXT NOT NULL,
    used_count INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    description TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    description TEXT NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE policies (
    version INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    starter INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  );
  `,
  // Identity: how each node proved itself, and the audit trail.
  `
  ALTER TABLE nodes ADD COLUMN identity TEXT;
  CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    outcome TEXT NOT NULL,
    actor TEXT,
    method TEXT,
    identity TEXT,
    node_id TEXT,
    source TEXT,
    code TEXT,
    message TEXT NOT NULL
  );
  CREATE INDEX audit_events_at ON audit_events(at);
  CREATE INDEX audit_events_kind ON audit_events(kind, id);
  `,
  // Node keys as their bytes; rows the key and time checks would now refuse repaired.
  nodeKeysAsBytes,
  // The mesh's certificate authorities (server/pki/).
  `
  CREATE TABLE certificate_authorities (
    id TEXT PRIMARY KEY,
    certificate TEXT NOT NULL,
    private_key TEXT NOT NULL,
    not_after INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
  );
  `,
  // Gateways: each router's --route-priority.
  `ALTER TABLE nodes ADD COLUMN route_priority INTEGER;`,
  // The admin console: sessions of signed-in people; audit filters by actor and node.
  `
  CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    provider TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    source TEXT
  );
  CREATE INDEX console_sessions_user ON console_sessions(user_id);
  CREATE INDEX audit_events_actor ON audit_events(actor, id);
  CREATE INDEX audit_events_node ON audit_events(node_id, id);
  `,
  // Replicas (server/replication/): the running ones, and which holds each node's stream.
  `
  CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    advertise TEXT NOT NULL,
    relay_address TEXT,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    applied_seq INTEGER NOT NULL,
    connected INTEGER NOT NULL
  );
  CREATE TABLE presence (
    node_id TEXT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
    replica_id TEXT NOT NULL,
    observed_endpoint TEXT,
    route_health TEXT,
    since INTEGER NOT NULL
  );
  CREATE INDEX presence_replica ON presence(replica_id);
  `,
  // Scale-out: the change log replicas follow (store.ts ChangeLog).
  `
  CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    entity_id TEXT NOT NULL
  );
  CREATE INDEX changes_at ON changes(at);
  `,
  // Scale-out: agents' sign-ins, used proof nonces and the relay key, shared by every replica.
  `
  CREATE TABLE login_sessions (
    id TEXT PRIMARY KEY,
    machine_key TEXT NOT NULL,
    hostname TEXT NOT NULL,
    provider TEXT NOT NULL,
    mode TEXT NOT NULL,
    state TEXT NOT NULL UNIQUE,
    nonce TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    browser_binding TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    email TEXT,
    proof TEXT,
    error TEXT
  );
  CREATE INDEX login_sessions_expires ON login_sessions(expires_at);
  CREATE TABLE proof_nonces (
    nonce TEXT PRIMARY KEY,
    forget_at INTEGER NOT NULL
  );
  CREATE INDEX proof_nonces_forget ON proof_nonces(forget_at);
  CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  `,
  // Presence: each node's path summary (protocol/path-report.ts).
  `ALTER TABLE presence ADD COLUMN paths TEXT;`,
  // Scale-out: each prefix's primary router, elected by the leader and served by every replica.
  `
  CREATE TABLE route_primaries (
    key TEXT PRIMARY KEY,
    node_id TEXT,
    reason TEXT NOT NULL,
    changed_at INTEGER NOT NULL,
    elected_by TEXT NOT NULL
  );
  `,
  // Replicas: who leads, as each says at its heartbeat (GET /api/v1/replicas on any replica).
  `ALTER TABLE replicas ADD COLUMN is_leader INTEGER NOT NULL DEFAULT 0;`,
  // Scale-out: console sign-ins in progress, so the provider's return may reach any replica.
  `
  CREATE TABLE console_sign_ins (
    state TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    nonce TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    browser_binding TEXT NOT NULL,
    next TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX console_sign_ins_expires ON console_sign_ins(expires_at);
  `,
  // CA rotation: the new CA of the rotation in progress, one at a time (server/pki/README.md).
  `
  ALTER TABLE certificate_authorities ADD COLUMN rotating INTEGER;
  CREATE UNIQUE INDEX certificate_authorities_one_rotation ON certificate_authorities(rotating) WHERE rotating = 1;
  `,
  // Router failover across replicas: a router's presence row is leased by its replica (database
  // clock), and route primaries are written under the leader's term (server/routes/README.md).
  `
  ALTER TABLE presence ADD COLUMN lease_until INTEGER;
  CREATE INDEX presence_lease ON presence(lease_until) WHERE lease_until IS NOT NULL;
  CREATE TABLE leader_term (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    term INTEGER NOT NULL
  );
  INSERT INTO leader_term (id, term) VALUES (1, 0);
  `,
];
