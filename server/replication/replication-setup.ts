import type { Logger } from 'pino';
import type { ServerConfig } from '../config/schema.ts';
import type { NetmapEngine } from '../netmap/engine.ts';
import type { Shutdown } from '../shutdown.ts';
import type { Store } from '../store/store.ts';
import { DeadReplicaReaper } from './dead-replicas.ts';
import { LeaderJobs, type SingletonJob } from './leader-jobs.ts';
import { SoleLeader, type Leadership } from './leadership.ts';
import { ReplicaDirectory } from './replica-directory.ts';

interface ReplicationDeps {
  config: ServerConfig;
  store: Store;
  engine: NetmapEngine;
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
  /**
   * Starts the heartbeat, then leadership with these jobs run only while this replica leads;
   * after the HTTP port listens (the advertised URL defaults to it).
   */
  start(singletons: ReadonlyArray<{ name: string; job: SingletonJob }>): Promise<void>;
}

export function setUpReplication(d: ReplicationDeps): Replication {
  const id = d.config.replica.id;
  const logger = d.logger.child({ part: 'replication', replica: id });
  const directory = new ReplicaDirectory({
    replicas: d.store.replicas,
    id,
    advertise: () => d.config.replica.advertise ?? d.listenUrl(),
    holderOf: (nodeId) => (d.engine.hasStream(nodeId) ? id : d.engine.remoteHolderOf(nodeId)),
    status: () => ({ appliedSeq: 0, connected: d.engine.connectedCount }),
    heartbeatMs: d.config.replica.heartbeatMs,
    deadAfterMs: d.config.replica.deadAfterMs,
    now: d.now,
    logger,
  });
  const leadership: Leadership = new SoleLeader();
  const deadReplicas = new DeadReplicaReaper(directory, d.store.replicas, d.config.replica.heartbeatMs, logger);
  return {
    directory,
    leadership,
    async start(singletons) {
      await directory.start();
      d.shutdown.add('replica heartbeat', () => directory.stop());
      const jobs = new LeaderJobs(leadership, [...singletons, { name: 'dead replicas', job: deadReplicas }], logger);
      leadership.start();
      d.shutdown.add('leadership', async () => {
        await leadership.stop();
        await jobs.stopAll();
      });
    },
  };
}
