/**
 * Schema migrations on PostgreSQL, applied in order at start, each in its own transaction,
 * under an advisory lock so that replicas starting together migrate once. Append only: never
 * edit one that has shipped. Must match schema.ts, and the SQLite migrations
 * (../sqlite/migrations.ts) describe the same tables: a test compares the two.
 *
 * The first one is the schema SQLite reached in its first eight, at once: PostgreSQL starts
 * there, and later migrations go to both drivers together.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL CONSTRAINT users_subject_key UNIQUE,
    email TEXT NOT NULL CONSTRAINT users_email_key UNIQUE,
    display_name TEXT NOT NULL,
    groups JSONB NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL CONSTRAINT nodes_name_key UNIQUE,
    machine_key BYTEA NOT NULL CONSTRAINT nodes_machine_key_key UNIQUE,
    wireguard_key BYTEA NOT NULL CONSTRAINT nodes_wireguard_key_key UNIQUE,
    ipv4 TEXT NOT NULL CONSTRAINT nodes_ipv4_key UNIQUE,
    ipv6 TEXT NOT NULL CONSTRAINT nodes_ipv6_key UNIQUE,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    tags JSONB NOT NULL,
    endpoints JSONB NOT NULL,
    advertised_routes JSONB NOT NULL,
    approved_routes JSONB NOT NULL,
    ephemeral BOOLEAN NOT NULL,
    os TEXT,
    last_seen BIGINT,
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    identity JSONB,
    route_priority INTEGER
  );
  CREATE INDEX nodes_user ON nodes(user_id);
  CREATE TABLE preauth_keys (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    reusable BOOLEAN NOT NULL,
    ephemeral BOOLEAN NOT NULL,
    tags JSONB NOT NULL,
    used_count INTEGER NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    scopes JSONB NOT NULL,
    description TEXT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE policies (
    version INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    starter BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
  );
  CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
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
  CREATE INDEX audit_events_actor ON audit_events(actor, id);
  CREATE INDEX audit_events_node ON audit_events(node_id, id);
  CREATE TABLE certificate_authorities (
    id TEXT PRIMARY KEY,
    certificate TEXT NOT NULL,
    private_key TEXT NOT NULL,
    not_after BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
  );
  CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    provider TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    source TEXT
  );
  CREATE INDEX console_sessions_user ON console_sessions(user_id);
  CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    advertise TEXT NOT NULL,
    relay_address TEXT,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    applied_seq BIGINT NOT NULL,
    connected INTEGER NOT NULL
  );
  CREATE TABLE presence (
    node_id TEXT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
    replica_id TEXT NOT NULL,
    observed_endpoint TEXT,
    route_health JSONB,
    since BIGINT NOT NULL
  );
  CREATE INDEX presence_replica ON presence(replica_id);
  CREATE TABLE changes (
    seq BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
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
    state TEXT NOT NULL CONSTRAINT login_sessions_state_key UNIQUE,
    nonce TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    browser_binding TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    email TEXT,
    proof JSONB,
    error JSONB
  );
  CREATE INDEX login_sessions_expires ON login_sessions(expires_at);
  CREATE TABLE proof_nonces (
    nonce TEXT PRIMARY KEY,
    forget_at BIGINT NOT NULL
  );
  CREATE INDEX proof_nonces_forget ON proof_nonces(forget_at);
  CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  `,
  // Presence: each node's path summary (protocol/path-report.ts).
  `ALTER TABLE presence ADD COLUMN paths JSONB;`,
  // Scale-out: each prefix's primary router, elected by the leader and served by every replica.
  `
  CREATE TABLE route_primaries (
    key TEXT PRIMARY KEY,
    node_id TEXT,
    reason TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    elected_by TEXT NOT NULL
  );
  `,
  // Replicas: who leads, as each says at its heartbeat (GET /api/v1/replicas on any replica).
  `ALTER TABLE replicas ADD COLUMN is_leader BOOLEAN NOT NULL DEFAULT false;`,
  // Scale-out: console sign-ins in progress, so the provider's return may reach any replica.
  `
  CREATE TABLE console_sign_ins (
    state TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    nonce TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    browser_binding TEXT NOT NULL,
    next TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX console_sign_ins_expires ON console_sign_ins(expires_at);
  `,
  // CA rotation: the new CA of the rotation in progress, one at a time (server/pki/README.md).
  `
  ALTER TABLE certificate_authorities ADD COLUMN rotating BOOLEAN;
  CREATE UNIQUE INDEX certificate_authorities_one_rotation ON certificate_authorities(rotating) WHERE rotating;
  `,
  // Router failover across replicas: a router's presence row is leased by its replica (database
  // clock), and route primaries are written under the leader's term (server/routes/README.md).
  `
  ALTER TABLE presence ADD COLUMN lease_until BIGINT;
  CREATE INDEX presence_lease ON presence(lease_until) WHERE lease_until IS NOT NULL;
  CREATE TABLE leader_term (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    term BIGINT NOT NULL
  );
  INSERT INTO leader_term (id, term) VALUES (1, 0);
  `,
];

/**
 * How many SQLite migrations the first PostgreSQL one stands for: SQLite migration
 * SQLITE_BASELINE + i corresponds to PostgreSQL migration 1 + i (the test checks it).
 */
export const SQLITE_BASELINE = 8;
