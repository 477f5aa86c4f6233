import type { Logger } from 'pino';
import type { UserService } from '../admin/user-service.ts';
import type { ServerConfig } from '../config/schema.ts';
import type { NetmapEngine } from '../netmap/engine.ts';
import type { PolicyService } from '../policies/policy-service.ts';
import type { Shutdown } from '../shutdown.ts';
import type { Store } from '../store/store.ts';
import { ChangeApplier } from './change-applier.ts';
import { ChangeFollower } from './change-follower.ts';
import { ChangeLogPruner } from './change-log-pruner.ts';
import { DeadReplicaReaper } from './dead-replicas.ts';
import { LeaderJobs, type SingletonJob } from './leader-jobs.ts';
import { clientConfig } from '../store/postgres/open.ts';
import { postgresOptionsOf } from '../store/open-store.ts';
import { AdvisoryLockLeadership, SoleLeader, type Leadership } from './leadership.ts';
import { PresenceWriter } from './presence-writer.ts';
import { ReplicaDirectory } from './replica-directory.ts';
import { StoreReachability } from './store-reachability.ts';
import { SharedElection } from '../routes/shared-election.ts';
import { RouterLeaseWatch } from '../routes/lease-watch.ts';
import { RouterLeaseRenewer } from './router-leases.ts';

/** How often the change log is read without a hint: the most a lost hint delays a change. */
const POLL_MS = 1_000;
/** How often a follower tries the leader's lock, and the leader checks its connection. */
const LEADERSHIP_CHECK_MS = 1_000;
/** A leader whose lock connection does not answer this long stops leading. */
const LEADERSHIP_TIMEOUT_MS = 3_000;
/** How often the leader prunes the change log. */
const PRUNE_EVERY_MS = 60_000;

interface ReplicationDeps {
  config: ServerConfig;
  store: Store;
  engine: NetmapEngine;
  users: UserService;
  policies: PolicyService;
  /** The mesh CAs: read again when a rotation on another replica arrives. */
  authorities: { reload(): Promise<void> };
  /** The change log's head as read before the engine was loaded: the follower starts there. */
  fromSeq: number;
  /** This replica's listen URL, the default of `replica.advertise` (known once listening). */
  listenUrl: () => string;
  shutdown: Shutdown;
  now: () => number;
  logger: Logger;
}

/** The parts that make this process one replica among several (server/replication/README.md). */
export interface Replication {
  directory: ReplicaDirectory;
  leadership: Leadership;
  follower: ChangeFollower;
  /** Whether the database is reachable; cut off, the replica refuses writes and streams. */
  reachability: StoreReachability;
  /** Writes this replica's streams into the presence table; its backlog is how far behind it is. */
  presence: Pick<PresenceWriter, 'backlog'>;
  /** Reads what the leader stored for every replica to serve (the route primaries); before listening. */
  loadShared(): Promise<void>;
  /**
   * Starts the heartbeat, reads who holds which stream, then leadership with these jobs run
   * only while this replica leads; after the HTTP port listens (the advertised URL defaults to it).
   */
  start(singletons: ReadonlyArray<{ name: string; job: SingletonJob }>): Promise<void>;
}

/** Builds the parts and starts following the change log at once (the engine was just loaded). */
export function setUpReplication(d: ReplicationDeps): Replication {
  const id = d.config.replica.id;
  const logger = d.logger.child({ part: 'replication', replica: id });
  const leadership = leadershipFor(d.store, d.config, logger);
  // One server on SQLite elects its routes alone, as it always has; replicas share one election.
  const routes =
    d.store.driver === 'postgres'
      ? new SharedElection({
          primaries: d.store.routePrimaries,
          engine: d.engine,
          selfId: id,
          retryMs: d.config.replica.heartbeatMs,
          logger,
        })
      : undefined;
  const applier = new ChangeApplier({
    store: d.store,
    engine: d.engine,
    users: d.users,
    policies: d.policies,
    authorities: d.authorities,
    ...(routes && { routes }),
    selfId: id,
    logger,
  });
  const follower = new ChangeFollower(
    {
      feed: d.store.changes,
      apply: async (changes) => {
        await applier.apply(changes);
        // What a resume from another replica looks at (server/netmap/change-journal.ts).
        d.engine.noteApplied(changes, changes[changes.length - 1]?.seq ?? follower.appliedSeq);
      },
      reload: async () => {
        const head = await d.store.changes.head();
        await applier.reload();
        d.engine.forgetChanges(head);
      },
      pollMs: POLL_MS,
      now: d.now,
      logger,
    },
    d.fromSeq,
  );
  follower.start();
  d.shutdown.add('change follower', () => follower.stop());
  // Routers' rows are leased where the leader elects from them (PostgreSQL, several replicas).
  const leaseMs = routes ? d.config.replica.routerLeaseMs : undefined;
  const presence = new PresenceWriter({
    presence: d.store.presence,
    engine: d.engine,
    selfId: id,
    ...(leaseMs !== undefined && { routerLeaseMs: leaseMs }),
    retryMs: d.config.replica.heartbeatMs,
    now: d.now,
    logger,
  });
  d.shutdown.add('presence writes', () => presence.stop());
  const leaseEveryMs = Math.max(100, Math.floor((leaseMs ?? 0) / 3));
  if (leaseMs !== undefined) {
    const renewer = new RouterLeaseRenewer({
      presence: d.store.presence,
      engine: d.engine,
      writer: presence,
      selfId: id,
      leaseMs,
      everyMs: leaseEveryMs,
      logger,
    });
    renewer.start();
    d.shutdown.add('router lease renewals', () => renewer.stop());
  }
  const leaseWatch =
    leaseMs !== undefined
      ? new RouterLeaseWatch({ presence: d.store.presence, engine: d.engine, everyMs: leaseEveryMs, logger })
      : undefined;

  const directory = new ReplicaDirectory({
    replicas: d.store.replicas,
    id,
    advertise: () => d.config.replica.advertise ?? d.listenUrl(),
    holderOf: (nodeId) => (d.engine.hasStream(nodeId) ? id : d.engine.remoteHolderOf(nodeId)),
    status: () => ({
      appliedSeq: follower.appliedSeq,
      connected: d.engine.connectedCount,
      leading: leadership.isLeader,
    }),
    heartbeatMs: d.config.replica.heartbeatMs,
    deadAfterMs: d.config.replica.deadAfterMs,
    now: d.now,
    logger,
  });
  const reachability = new StoreReachability({
    ping: () => d.store.ping(),
    follower,
    checkMs: Math.min(1_000, Math.floor(d.config.replica.cutOffMs / 2)),
    cutOffMs: d.config.replica.cutOffMs,
    now: d.now,
    logger,
  });
  reachability.start();
  d.shutdown.add('store reachability', () => reachability.stop());
  // The others learn who leads from the next heartbeat: written at once when it changes.
  leadership.onChange(() => void directory.beat());
  const deadReplicas = new DeadReplicaReaper(directory, d.store.replicas, d.config.replica.heartbeatMs, logger);
  return {
    directory,
    leadership,
    follower,
    reachability,
    presence,
    async loadShared() {
      await routes?.load();
    },
    async start(singletons) {
      await directory.start();
      d.shutdown.add('replica heartbeat', () => directory.stop());
      // Who holds which stream elsewhere; a dead replica's rows are the leader's to expire.
      const alive = new Set(
        directory
          .list()
          .filter((r) => r.alive && r.id !== id)
          .map((r) => r.id),
      );
      await applier.loadPresence(alive);
      const pruner = new ChangeLogPruner({
        changes: d.store.changes,
        replicas: () => directory.list(),
        retentionHours: d.config.replica.changeRetentionHours,
        everyMs: PRUNE_EVERY_MS,
        now: d.now,
        logger,
      });
      const jobs = new LeaderJobs(
        leadership,
        [
          ...(routes ? [{ name: 'route election', job: routes }] : []),
          ...(leaseWatch ? [{ name: 'router leases', job: leaseWatch }] : []),
          ...singletons,
          { name: 'dead replicas', job: deadReplicas },
          { name: 'change-log pruning', job: pruner },
        ],
        logger,
      );
      leadership.start();
      d.shutdown.add('leadership', async () => {
        await leadership.stop();
        await jobs.stopAll();
      });
    },
  };
}

/** PostgreSQL: whoever holds the advisory lock leads; SQLite: the one process does. */
function leadershipFor(store: Store, config: ServerConfig, logger: Logger): Leadership {
  if (store.driver === 'sqlite') return new SoleLeader();
  if (config.store.driver !== 'postgres') {
    throw new TypeError('a PostgreSQL store needs store.driver: postgres in the config (leadership connects with it)');
  }
  return new AdvisoryLockLeadership({
    connection: clientConfig(postgresOptionsOf(config.store)),
    checkMs: LEADERSHIP_CHECK_MS,
    timeoutMs: LEADERSHIP_TIMEOUT_MS,
    logger,
  });
}
