import { blob, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { AuditKind, LoginSessionRecord, NodeIdentity } from '../records.ts';
import type { ChangeKind } from '../store.ts';

const json = <T>(name: string) => text(name, { mode: 'json' }).$type<T>().notNull();

export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  subject: text('subject').notNull().unique(),
  email: text('email').notNull().unique(),
  displayName: text('display_name').notNull(),
  groups: json<string[]>('groups'),
  createdAt: integer('created_at').notNull(),
});

export const nodes = sqliteTable('nodes', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  // The 32 key bytes: uniqueness and lookups compare keys, not one of their spellings.
  machineKey: blob('machine_key', { mode: 'buffer' }).notNull().unique(),
  wireguardKey: blob('wireguard_key', { mode: 'buffer' }).notNull().unique(),
  ipv4: text('ipv4').notNull().unique(),
  ipv6: text('ipv6').notNull().unique(),
  userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
  tags: json<string[]>('tags'),
  endpoints: json<string[]>('endpoints'),
  advertisedRoutes: json<string[]>('advertised_routes'),
  approvedRoutes: json<string[]>('approved_routes'),
  ephemeral: integer('ephemeral', { mode: 'boolean' }).notNull(),
  os: text('os'),
  lastSeen: integer('last_seen'),
  expiresAt: integer('expires_at'),
  createdAt: integer('created_at').notNull(),
  identity: text('identity', { mode: 'json' }).$type<NodeIdentity>(),
  routePriority: integer('route_priority'),
});

export const preAuthKeys = sqliteTable('preauth_keys', {
  id: text('id').primaryKey(),
  secretHash: text('secret_hash').notNull(),
  userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
  reusable: integer('reusable', { mode: 'boolean' }).notNull(),
  ephemeral: integer('ephemeral', { mode: 'boolean' }).notNull(),
  tags: json<string[]>('tags'),
  usedCount: integer('used_count').notNull(),
  expiresAt: integer('expires_at').notNull(),
  revokedAt: integer('revoked_at'),
  description: text('description').notNull(),
  createdAt: integer('created_at').notNull(),
});

export const apiKeys = sqliteTable('api_keys', {
  id: text('id').primaryKey(),
  secretHash: text('secret_hash').notNull(),
  scopes: json<string[]>('scopes'),
  description: text('description').notNull(),
  expiresAt: integer('expires_at'),
  lastUsedAt: integer('last_used_at'),
  revokedAt: integer('revoked_at'),
  createdAt: integer('created_at').notNull(),
});

export const policies = sqliteTable('policies', {
  version: integer('version').primaryKey({ autoIncrement: true }),
  text: text('text').notNull(),
  author: text('author').notNull(),
  starter: integer('starter', { mode: 'boolean' }).notNull(),
  createdAt: integer('created_at').notNull(),
});

/** Monotonic cursors, e.g. the next address index: addresses are never handed out twice. */
export const counters = sqliteTable('counters', {
  name: text('name').primaryKey(),
  value: integer('value').notNull(),
});

export const auditEvents = sqliteTable('audit_events', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  at: integer('at').notNull(),
  kind: text('kind').$type<AuditKind>().notNull(),
  outcome: text('outcome').$type<'success' | 'failure'>().notNull(),
  actor: text('actor'),
  method: text('method'),
  identity: text('identity'),
  nodeId: text('node_id'),
  source: text('source'),
  code: text('code'),
  message: text('message').notNull(),
});

export const certificateAuthorities = sqliteTable('certificate_authorities', {
  id: text('id').primaryKey(),
  certificate: text('certificate').notNull(),
  privateKey: text('private_key').notNull(),
  notAfter: integer('not_after').notNull(),
  createdAt: integer('created_at').notNull(),
  retiredAt: integer('retired_at'),
  rotating: integer('rotating', { mode: 'boolean' }),
});

export const consoleSessions = sqliteTable('console_sessions', {
  id: text('id').primaryKey(),
  userId: text('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  csrfToken: text('csrf_token').notNull(),
  provider: text('provider').notNull(),
  createdAt: integer('created_at').notNull(),
  lastSeenAt: integer('last_seen_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
  source: text('source'),
});

export const replicas = sqliteTable('replicas', {
  id: text('id').primaryKey(),
  advertise: text('advertise').notNull(),
  relayAddress: text('relay_address'),
  startedAt: integer('started_at').notNull(),
  heartbeatAt: integer('heartbeat_at').notNull(),
  appliedSeq: integer('applied_seq').notNull(),
  connected: integer('connected').notNull(),
  leading: integer('is_leader', { mode: 'boolean' }).notNull(),
});

export const presence = sqliteTable('presence', {
  nodeId: text('node_id')
    .primaryKey()
    .references(() => nodes.id, { onDelete: 'cascade' }),
  replicaId: text('replica_id').notNull(),
  observedEndpoint: text('observed_endpoint'),
  routeHealth: text('route_health', { mode: 'json' }).$type<unknown>(),
  paths: text('paths', { mode: 'json' }).$type<unknown>(),
  since: integer('since').notNull(),
  leaseUntil: integer('lease_until'),
});

/** One row: the newest leader term (route_primaries writes carry theirs, server/routes/shared-election.ts). */
export const leaderTerm = sqliteTable('leader_term', {
  id: integer('id').primaryKey(),
  term: integer('term').notNull(),
});

/** The change log (store.ts ChangeLog): what changed, in commit order. */
export const changes = sqliteTable('changes', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  at: integer('at').notNull(),
  kind: text('kind').$type<ChangeKind>().notNull(),
  entityId: text('entity_id').notNull(),
});

/** Agents' sign-ins (store.ts LoginSessionRepository). */
export const loginSessions = sqliteTable('login_sessions', {
  id: text('id').primaryKey(),
  machineKey: text('machine_key').notNull(),
  hostname: text('hostname').notNull(),
  provider: text('provider').notNull(),
  mode: text('mode').$type<LoginSessionRecord['mode']>().notNull(),
  state: text('state').notNull().unique(),
  nonce: text('nonce').notNull(),
  codeVerifier: text('code_verifier').notNull(),
  browserBinding: text('browser_binding'),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
  status: text('status').$type<LoginSessionRecord['status']>().notNull(),
  userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
  email: text('email'),
  proof: text('proof', { mode: 'json' }).$type<LoginSessionRecord['proof']>(),
  error: text('error', { mode: 'json' }).$type<LoginSessionRecord['error']>(),
});

/** Console sign-ins in progress (store.ts ConsoleSignInRepository). */
export const consoleSignIns = sqliteTable('console_sign_ins', {
  state: text('state').primaryKey(),
  provider: text('provider').notNull(),
  nonce: text('nonce').notNull(),
  codeVerifier: text('code_verifier').notNull(),
  browserBinding: text('browser_binding').notNull(),
  next: text('next').notNull(),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
});

/** Machine-key proof nonces already used (store.ts ProofNonceRepository), base64. */
export const proofNonces = sqliteTable('proof_nonces', {
  nonce: text('nonce').primaryKey(),
  forgetAt: integer('forget_at').notNull(),
});

/** Keys every replica shares (store.ts ServerKeyRepository). */
export const serverKeys = sqliteTable('server_keys', {
  name: text('name').primaryKey(),
  privateKey: text('private_key').notNull(),
  createdAt: integer('created_at').notNull(),
});

/** Each prefix's primary router as the leader elected it (store.ts RoutePrimaryRepository). */
export const routePrimaries = sqliteTable('route_primaries', {
  key: text('key').primaryKey(),
  nodeId: text('node_id'),
  reason: text('reason').notNull(),
  changedAt: integer('changed_at').notNull(),
  electedBy: text('elected_by').notNull(),
});
