import { bigint, bigserial, boolean, customType, integer, jsonb, pgTable, smallint, text } from 'drizzle-orm/pg-core';
import type { AuditKind, LoginSessionRecord, NodeIdentity } from '../records.ts';
import type { ChangeKind } from '../store.ts';

/**
 * The tables as drizzle reads and writes them on PostgreSQL; the same tables, columns and rules
 * as the SQLite ones (../sqlite/schema.ts), in PostgreSQL's types: times as bigint milliseconds,
 * keys as their 32 bytes (bytea), lists as jsonb. migrations.ts creates them; keep both in step.
 */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });
const ms = (name: string) => bigint(name, { mode: 'number' });
const json = <T>(name: string) => jsonb(name).$type<T>().notNull();

export const users = pgTable('users', {
  id: text('id').primaryKey(),
  subject: text('subject').notNull().unique(),
  email: text('email').notNull().unique(),
  displayName: text('display_name').notNull(),
  groups: json<string[]>('groups'),
  createdAt: ms('created_at').notNull(),
});

export const nodes = pgTable('nodes', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  machineKey: bytea('machine_key').notNull().unique(),
  wireguardKey: bytea('wireguard_key').notNull().unique(),
  ipv4: text('ipv4').notNull().unique(),
  ipv6: text('ipv6').notNull().unique(),
  userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
  tags: json<string[]>('tags'),
  endpoints: json<string[]>('endpoints'),
  advertisedRoutes: json<string[]>('advertised_routes'),
  approvedRoutes: json<string[]>('approved_routes'),
  ephemeral: boolean('ephemeral').notNull(),
  os: text('os'),
  lastSeen: ms('last_seen'),
  expiresAt: ms('expires_at'),
  createdAt: ms('created_at').notNull(),
  identity: jsonb('identity').$type<NodeIdentity>(),
  routePriority: integer('route_priority'),
});

export const preAuthKeys = pgTable('preauth_keys', {
  id: text('id').primaryKey(),
  secretHash: text('secret_hash').notNull(),
  userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
  reusable: boolean('reusable').notNull(),
  ephemeral: boolean('ephemeral').notNull(),
  tags: json<string[]>('tags'),
  usedCount: integer('used_count').notNull(),
  expiresAt: ms('expires_at').notNull(),
  revokedAt: ms('revoked_at'),
  description: text('description').notNull(),
  createdAt: ms('created_at').notNull(),
});

export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  secretHash: text('secret_hash').notNull(),
  scopes: json<string[]>('scopes'),
  description: text('description').notNull(),
  expiresAt: ms('expires_at'),
  lastUsedAt: ms('last_used_at'),
  revokedAt: ms('revoked_at'),
  createdAt: ms('created_at').notNull(),
});

export const policies = pgTable('policies', {
  version: integer('version').primaryKey(),
  text: text('text').notNull(),
  author: text('author').notNull(),
  starter: boolean('starter').notNull(),
  createdAt: ms('created_at').notNull(),
});

export const counters = pgTable('counters', {
  name: text('name').primaryKey(),
  value: bigint('value', { mode: 'number' }).notNull(),
});

export const auditEvents = pgTable('audit_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  at: ms('at').notNull(),
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

export const certificateAuthorities = pgTable('certificate_authorities', {
  id: text('id').primaryKey(),
  certificate: text('certificate').notNull(),
  privateKey: text('private_key').notNull(),
  notAfter: ms('not_after').notNull(),
  createdAt: ms('created_at').notNull(),
  retiredAt: ms('retired_at'),
  rotating: boolean('rotating'),
});

export const consoleSessions = pgTable('console_sessions', {
  id: text('id').primaryKey(),
  userId: text('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  csrfToken: text('csrf_token').notNull(),
  provider: text('provider').notNull(),
  createdAt: ms('created_at').notNull(),
  lastSeenAt: ms('last_seen_at').notNull(),
  expiresAt: ms('expires_at').notNull(),
  source: text('source'),
});

export const replicas = pgTable('replicas', {
  id: text('id').primaryKey(),
  advertise: text('advertise').notNull(),
  relayAddress: text('relay_address'),
  startedAt: ms('started_at').notNull(),
  heartbeatAt: ms('heartbeat_at').notNull(),
  appliedSeq: bigint('applied_seq', { mode: 'number' }).notNull(),
  connected: integer('connected').notNull(),
  leading: boolean('is_leader').notNull(),
});

export const presence = pgTable('presence', {
  nodeId: text('node_id')
    .primaryKey()
    .references(() => nodes.id, { onDelete: 'cascade' }),
  replicaId: text('replica_id').notNull(),
  observedEndpoint: text('observed_endpoint'),
  routeHealth: jsonb('route_health').$type<unknown>(),
  paths: jsonb('paths').$type<unknown>(),
  since: ms('since').notNull(),
  leaseUntil: ms('lease_until'),
});

/** One row: the newest leader term (route_primaries writes carry theirs, server/routes/shared-election.ts). */
export const leaderTerm = pgTable('leader_term', {
  id: smallint('id').primaryKey(),
  term: bigint('term', { mode: 'number' }).notNull(),
});

export const changes = pgTable('changes', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  at: ms('at').notNull(),
  kind: text('kind').$type<ChangeKind>().notNull(),
  entityId: text('entity_id').notNull(),
});

export const loginSessions = pgTable('login_sessions', {
  id: text('id').primaryKey(),
  machineKey: text('machine_key').notNull(),
  hostname: text('hostname').notNull(),
  provider: text('provider').notNull(),
  mode: text('mode').$type<LoginSessionRecord['mode']>().notNull(),
  state: text('state').notNull().unique(),
  nonce: text('nonce').notNull(),
  codeVerifier: text('code_verifier').notNull(),
  browserBinding: text('browser_binding'),
  createdAt: ms('created_at').notNull(),
  expiresAt: ms('expires_at').notNull(),
  status: text('status').$type<LoginSessionRecord['status']>().notNull(),
  userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
  email: text('email'),
  proof: jsonb('proof').$type<LoginSessionRecord['proof']>(),
  error: jsonb('error').$type<LoginSessionRecord['error']>(),
});

export const consoleSignIns = pgTable('console_sign_ins', {
  state: text('state').primaryKey(),
  provider: text('provider').notNull(),
  nonce: text('nonce').notNull(),
  codeVerifier: text('code_verifier').notNull(),
  browserBinding: text('browser_binding').notNull(),
  next: text('next').notNull(),
  createdAt: ms('created_at').notNull(),
  expiresAt: ms('expires_at').notNull(),
});

export const proofNonces = pgTable('proof_nonces', {
  nonce: text('nonce').primaryKey(),
  forgetAt: ms('forget_at').notNull(),
});

export const serverKeys = pgTable('server_keys', {
  name: text('name').primaryKey(),
  privateKey: text('private_key').notNull(),
  createdAt: ms('created_at').notNull(),
});

export const routePrimaries = pgTable('route_primaries', {
  key: text('key').primaryKey(),
  nodeId: text('node_id'),
  reason: text('reason').notNull(),
  changedAt: ms('changed_at').notNull(),
  electedBy: text('elected_by').notNull(),
});
