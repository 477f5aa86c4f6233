import { CodedError } from '../../protocol/coded-error.ts';
import type { ServerCode } from '../error-codes.ts';
import type {
  ApiKeyRecord,
  AuditKind,
  ConsoleSessionRecord,
  ConsoleSignInRecord,
  AuditRecord,
  LoginOutcome,
  LoginSessionRecord,
  AuthorityRecord,
  NodeRecord,
  PolicyRecord,
  PreAuthKeyRecord,
  PresenceRecord,
  ReplicaRecord,
  RoutePrimaryRecord,
  UserRecord,
} from './records.ts';

/**
 * The persistence boundary. Domain code talks only to these interfaces, so a PostgreSQL
 * backend can stand beside SQLite without touching it. Every method that changes several rows
 * does so atomically.
 */
export interface Store {
  users: UserRepository;
  nodes: NodeRepository;
  preAuthKeys: PreAuthKeyRepository;
  apiKeys: ApiKeyRepository;
  policies: PolicyRepository;
  audit: AuditRepository;
  authorities: AuthorityRepository;
  consoleSessions: ConsoleSessionRepository;
  loginSessions: LoginSessionRepository;
  consoleSignIns: ConsoleSignInRepository;
  proofNonces: ProofNonceRepository;
  serverKeys: ServerKeyRepository;
  replicas: ReplicaRepository;
  presence: PresenceRepository;
  routePrimaries: RoutePrimaryRepository;
  /** What changed, in commit order: how several replicas on one database keep their caches in step. */
  changes: ChangeLog;
  /** Which database this is. */
  readonly driver: 'sqlite' | 'postgres';
  /** Resolves when the database answers; rejects with `StoreUnavailable` when it cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * What a change-log row says changed: an entity of one kind, by id. It carries no data: a
 * reader re-reads the entity's current row (absent = deleted), so applying a change twice, or
 * late, converges on the same state. Replication adds its own kinds (presence, ...) here.
 */
export const CHANGE_KINDS = ['node', 'user', 'policy', 'authority', 'presence', 'route'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface ChangeRecord {
  /** Increasing in commit order: a change committed later has a larger seq (gaps may occur). */
  seq: number;
  /** When it was written (unix ms, the writer's clock). */
  at: number;
  kind: ChangeKind;
  /** The entity's id: a node or user id, a policy version, an authority id, a route key. */
  id: string;
}

/**
 * The change log, written by every mutating repository method in the same transaction as the
 * change itself, so nothing is announced that did not commit, and nothing commits unlogged.
 */
export interface ChangeLog {
  /** The seq of the newest change, 0 when there is none. */
  head(): Promise<number>;
  /** Up to `limit` changes with seq > `seq`, in seq order. */
  since(seq: number, limit: number): Promise<ChangeRecord[]>;
  /**
   * Calls `onHint(seq)` soon after changes commit, from this or any other process on the same
   * database (PostgreSQL: LISTEN/NOTIFY; SQLite: in-process). A hint only says "read from where
   * you are": hints may be dropped, merged or repeated, and one is given after a reconnect of
   * the listening connection. Returns the function that stops watching.
   */
  watch(onHint: (seq: number) => void): () => void;
  /** Logs a change made outside the repositories here (soft state); returns its seq. */
  append(kind: ChangeKind, id: string): Promise<number>;
  /**
   * Deletes changes written before `before` (ms), always keeping the newest one; returns how many
   * went. A reader whose seq is below `horizon()` has missed changes and must reload everything.
   */
  prune(before: number): Promise<number>;
  /** The largest seq pruned so far (0 when none was): changes up to it can no longer be read. */
  horizon(): Promise<number>;
}

export interface UserRepository {
  list(): Promise<UserRecord[]>;
  get(id: string): Promise<UserRecord | undefined>;
  getByEmail(email: string): Promise<UserRecord | undefined>;
  /**
   * Creates, or updates email, name and groups of the user with this subject; with the seq of
   * the change-log row written with it (server/netmap/applied-seq.ts).
   */
  upsert(user: Omit<UserRecord, 'id' | 'createdAt'>, now: number): Promise<{ record: UserRecord; changeSeq: number }>;
  /** Deletes the user and (by cascade) their nodes and keys. */
  delete(id: string): Promise<boolean>;
}

/** A node about to be created; the store gives it addresses and makes its name unique. */
export type NodeDraft = Omit<NodeRecord, 'ipv4' | 'ipv6'>;

export interface CreateNodeOptions {
  /** Maps an address index (1, 2, ...) to the node's addresses. */
  addressFor: (index: number) => { ipv4: string; ipv6: string };
  /** Uses one of this pre-auth key in the same transaction; fails if it cannot be used. */
  consumePreAuthKey?: { id: string; now: number };
}

export interface NodeRepository {
  list(): Promise<NodeRecord[]>;
  get(id: string): Promise<NodeRecord | undefined>;
  getByMachineKey(machineKey: string): Promise<NodeRecord | undefined>;
  create(draft: NodeDraft, options: CreateNodeOptions): Promise<NodeRecord>;
  /** With `consumePreAuthKey`, uses one of that key in the same transaction (a sign-in again). */
  update(
    id: string,
    patch: NodePatch,
    options?: Pick<CreateNodeOptions, 'consumePreAuthKey'>,
  ): Promise<NodeRecord | undefined>;
  delete(id: string): Promise<boolean>;
}

/** Fields to change: undefined leaves a field as it is; null clears an optional one. */
export type NodePatch = Partial<
  Pick<NodeRecord, 'name' | 'wireguardKey' | 'tags' | 'endpoints' | 'advertisedRoutes' | 'approvedRoutes'>
> & { [K in 'userId' | 'lastSeen' | 'expiresAt' | 'os' | 'identity' | 'routePriority']?: NodeRecord[K] | null };

export interface PreAuthKeyRepository {
  list(): Promise<PreAuthKeyRecord[]>;
  get(id: string): Promise<PreAuthKeyRecord | undefined>;
  create(key: PreAuthKeyRecord): Promise<void>;
  revoke(id: string, now: number): Promise<boolean>;
}

export interface ApiKeyRepository {
  list(): Promise<ApiKeyRecord[]>;
  get(id: string): Promise<ApiKeyRecord | undefined>;
  create(key: ApiKeyRecord): Promise<void>;
  revoke(id: string, now: number): Promise<boolean>;
  touch(id: string, now: number): Promise<void>;
}

export interface PolicyRepository {
  current(): Promise<PolicyRecord | undefined>;
  list(): Promise<PolicyRecord[]>;
  /**
   * Appends a new version. With `expectedVersion`, fails with `StoreConflict` if the current
   * version is another one (optimistic concurrency). `changeSeq`: the change-log row written
   * with it, in the same transaction.
   */
  append(
    policy: Omit<PolicyRecord, 'version'>,
    expectedVersion?: number,
  ): Promise<{ record: PolicyRecord; changeSeq: number }>;
}

/** The audit trail: append-only, pruned only by age (the retention setting). */
export interface AuditRepository {
  append(event: Omit<AuditRecord, 'id'>): Promise<AuditRecord>;
  /** Newest first. */
  list(query: AuditQuery): Promise<AuditRecord[]>;
  /** Deletes the events from before `before` (ms); returns how many went. */
  prune(before: number): Promise<number>;
}

/** The mesh's certificate authorities: the one that signs, and retired ones still trusted. */
export interface AuthorityRepository {
  /** Newest first. */
  list(): Promise<AuthorityRecord[]>;
  /**
   * Stores `authority` unless one that is not retired exists, in one transaction, and returns
   * whichever signs now: two servers starting on one database keep the same CA.
   */
  addFirst(authority: AuthorityRecord): Promise<AuthorityRecord>;
  /** Stores another authority as it is (copies, tests); a rotation uses startRotation. */
  add(authority: AuthorityRecord): Promise<void>;
  /**
   * Stores a rotation's new CA (its `createdAt` the end of the grace period) as the one rotation
   * in progress, with `signsNow` switching to it in the same transaction. False, and nothing
   * stored, while another rotation is in progress: a unique index decides, so two replicas (or
   * two requests) rotating at once cannot both start one.
   */
  startRotation(authority: AuthorityRecord, signsNow: boolean): Promise<boolean>;
  /**
   * In one transaction: `id` signs from `at` on, every other authority not yet retired is
   * retired at `at`, and no rotation is in progress any more. False (and nothing changed) when
   * no authority has that id.
   */
  switchTo(id: string, at: number): Promise<boolean>;
  /**
   * When `id` is still the rotation in progress and signs by `event.at` (its grace period
   * lapsed): in one transaction, writes the switch down (switchTo at its `createdAt`) and appends
   * `event` to the audit trail. False, and nothing written, when it is not: another replica, or
   * a finish, closed it first, so the event is written once however many replicas try.
   */
  closeLapsedRotation(id: string, event: Omit<AuditRecord, 'id'>): Promise<boolean>;
}

/** Console sessions; deleted with their user. */
export interface ConsoleSessionRepository {
  create(session: ConsoleSessionRecord): Promise<void>;
  get(id: string): Promise<ConsoleSessionRecord | undefined>;
  /** Records a use; false when the session no longer exists. */
  touch(id: string, lastSeenAt: number): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  /** Deletes every session of a user (their machines expired, or they were removed); how many went. */
  deleteForUser(userId: string): Promise<number>;
  /** Deletes sessions past their absolute end, or unused since `idleBefore`; how many went. */
  prune(now: number, idleBefore: number): Promise<number>;
}

/**
 * Agents' sign-ins in progress, and for a while after they end. Every change of state is
 * conditional on the one before, so two replicas acting on one sign-in at once cannot both win.
 */
export interface LoginSessionRepository {
  create(session: LoginSessionRecord): Promise<void>;
  get(id: string): Promise<LoginSessionRecord | undefined>;
  /** The pending sign-in an OAuth state belongs to; once settled, its state names none (one callback only). */
  pendingByState(state: string): Promise<LoginSessionRecord | undefined>;
  /** How many have not expired at `now`: the bound on sign-ins in progress. */
  countOpen(now: number): Promise<number>;
  /** Ties a pending sign-in to the browser that continued it; false when it is not pending. */
  bindBrowser(id: string, browserBinding: string): Promise<boolean>;
  /** Ends a pending sign-in; false (and nothing changed) when it was no longer pending. */
  settle(id: string, outcome: LoginOutcome): Promise<boolean>;
  /** A completed sign-in of this machine becomes used; false when it was not complete or not its. */
  consume(id: string, machineKey: string): Promise<boolean>;
  /** Deletes those that expired before `before` (ms); how many went. */
  prune(before: number): Promise<number>;
}

/** Console sign-ins in progress (server/console/console-sign-in.ts), shared by every replica. */
export interface ConsoleSignInRepository {
  create(signIn: ConsoleSignInRecord): Promise<void>;
  /** Deletes the sign-in with this state and returns it: of two returns at once, one gets it. */
  take(state: string): Promise<ConsoleSignInRecord | undefined>;
  /** How many have not expired at `now`: the bound on sign-ins in progress. */
  countOpen(now: number): Promise<number>;
  /** Deletes those that expired before `before` (ms); how many went. */
  prune(before: number): Promise<number>;
}

/**
 * The nonces of machine-key proofs already accepted (server/identity/machine-proof.ts), shared
 * by every replica so that a proof replayed to another one is refused.
 */
export interface ProofNonceRepository {
  /**
   * Records `nonce` as used until `forgetAt`, atomically: true for its first use, false when it
   * is already recorded and not yet forgotten at `now` (a replay), from whichever replica.
   */
  use(nonce: Uint8Array, forgetAt: number, now: number): Promise<boolean>;
  /** Deletes the nonces forgotten before `now`; how many went. */
  prune(now: number): Promise<number>;
}

/**
 * The server's own long-lived keys that every replica must share (the relay's WireGuard key),
 * by name, as base64 private keys. Never sent anywhere; like the CA's key, only in the store.
 */
export interface ServerKeyRepository {
  /**
   * The key stored under `name`, storing `privateKey` first if there is none, in one
   * statement: replicas starting together on an empty database keep the same key.
   */
  addFirst(name: string, privateKey: string, now: number): Promise<string>;
}

/** The running server replicas (server/replication/); each writes only its own row. */
export interface ReplicaRepository {
  /** Creates or replaces this replica's row. */
  heartbeat(replica: ReplicaRecord): Promise<void>;
  list(): Promise<ReplicaRecord[]>;
  /** Deletes a replica's row and every presence it held (it stopped, or the leader found it dead). */
  remove(id: string): Promise<boolean>;
}

/** One node's entry in a presence batch: its row set (leased for `leaseMs`), or its row on `replicaId` cleared. */
export type PresenceWrite =
  { kind: 'set'; record: PresenceRecord; leaseMs?: number } | { kind: 'clear'; nodeId: string; replicaId: string };

/** Which replica holds each connected node's map stream; deleted with the node. */
export interface PresenceRepository {
  list(): Promise<PresenceRecord[]>;
  get(nodeId: string): Promise<PresenceRecord | undefined>;
  /**
   * The node's stream is on `record.replicaId` now, replacing whichever replica held it. With
   * `leaseMs` (a router's row) the row is leased until the database's now plus that; without,
   * it has no lease. `record.leaseUntil` is not written.
   */
  set(record: PresenceRecord, leaseMs?: number): Promise<void>;
  /** The node's stream on `replicaId` closed; a presence another replica took since stays. */
  clear(nodeId: string, replicaId: string): Promise<boolean>;
  /**
   * Many nodes' presence in one transaction, each written as `set` or `clear` writes it (a
   * change logged for each row that changed), at most one entry per node: a burst of streams
   * opening or closing costs one commit, and one turn at the change log's lock, instead of one
   * each. A node deleted meanwhile is skipped rather than failing the others.
   */
  write(batch: readonly PresenceWrite[]): Promise<void>;
  /** Deletes every presence `replicaId` holds (it died); returns those nodes' ids. */
  clearReplica(replicaId: string): Promise<string[]>;
  /**
   * One statement: the rows of these nodes that `replicaId` holds are leased until the
   * database's now plus `leaseMs`; returns the nodes renewed (a row another replica took, or
   * none, is not). Logs no change: nobody follows a renewal, the leader asks for lapsed leases.
   */
  renewLeases(replicaId: string, nodeIds: readonly string[], leaseMs: number): Promise<string[]>;
  /** The rows whose lease ended by the database's clock, by node id. */
  lapsedLeases(): Promise<Array<{ nodeId: string; replicaId: string }>>;
}

/** The primary router of each prefix, written by the leader replica (server/routes/); read by all. */
export interface RoutePrimaryRepository {
  list(): Promise<RoutePrimaryRecord[]>;
  get(key: string): Promise<RoutePrimaryRecord | undefined>;
  /**
   * In one transaction: stores these (replacing each key's row) and deletes those keys; each
   * logged as a `route` change. With `term`: only while it is still the newest leader term
   * (`claimTerm`), else nothing is written and it rejects with StoreConflict
   * `store.leader_term_stale`; a deposed leader's late write cannot land after its successor's.
   */
  write(set: readonly RoutePrimaryRecord[], remove: readonly string[], term?: number): Promise<void>;
  /** A new leader's term, larger than every term claimed before; writes with older terms are refused from now on. */
  claimTerm(): Promise<number>;
}

export interface AuditQuery {
  /** From this time (inclusive) ... */
  since?: number;
  /** ... to this time (exclusive). */
  until?: number;
  kind?: AuditKind;
  outcome?: AuditRecord['outcome'];
  /** Exactly this actor (an email, `api-key:<id>`, ...). */
  actor?: string;
  /** Codes starting with this (an action such as `POST /api/v1/policy`, or an area such as `login.`). */
  codePrefix?: string;
  nodeId?: string;
  /** Only events older than this id (the next page). */
  before?: number;
  limit: number;
}

/**
 * The database cannot be reached (down, restarting, network cut, pool exhausted past its
 * timeout). Answered as 503: the same request may succeed once it is back. The cause (the
 * driver's error) is logged, never answered.
 */
export class StoreUnavailable extends CodedError<'store.unavailable'> {
  override readonly name = 'StoreUnavailable';
  constructor(message = 'the database cannot be reached; try again shortly', options?: { cause?: unknown }) {
    super('store.unavailable', message, options);
  }
  override get retryable(): boolean {
    return true;
  }
}

/** A uniqueness or concurrency rule was broken; the code names it, as the API answers it (409). */
export class StoreConflict extends CodedError<StoreConflictCode> {
  override readonly name = 'StoreConflict';
}

export const STORE_CONFLICT_CODES = [
  'node.name_taken',
  'node.machine_key_taken',
  'node.wireguard_key_taken',
  'node.address_taken',
  'preauth_key.unusable',
  'policy.version_conflict',
  'store.target_not_empty',
  'store.leader_term_stale',
] as const satisfies readonly ServerCode[];
export type StoreConflictCode = (typeof STORE_CONFLICT_CODES)[number];

/** A route-primaries write under a term a newer leader has replaced (RoutePrimaryRepository.write). */
export const staleTerm = (term: number): StoreConflict =>
  new StoreConflict(
    'store.leader_term_stale',
    `route primaries not written: leader term ${term} is over, a newer leader claimed its own`,
  );
