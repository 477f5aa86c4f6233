import type { Logger } from 'pino';
import type { ServerConfig } from '../config/schema.ts';
import type { NetmapEngine } from '../netmap/engine.ts';
import type { Shutdown } from '../shutdown.ts';
import type { Store } from '../store/store.ts';
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
  /** Starts the heartbeat; after the HTTP port listens (the advertised URL defaults to it). */
  start(): Promise<void>;
}

export function setUpReplication(d: ReplicationDeps): Replication {
  const id = d.config.replica.id;
  const directory = new ReplicaDirectory({
    replicas: d.store.replicas,
    id,
    advertise: () => d.config.replica.advertise ?? d.listenUrl(),
    holderOf: (nodeId) => (d.engine.hasStream(nodeId) ? id : d.engine.remoteHolderOf(nodeId)),
    status: () => ({ appliedSeq: 0, connected: d.engine.connectedCount }),
    heartbeatMs: d.config.replica.heartbeatMs,
    deadAfterMs: d.config.replica.deadAfterMs,
    now: d.now,
    logger: d.logger.child({ part: 'replicas' }),
  });
  return {
    directory,
    async start() {
      await directory.start();
      d.shutdown.add('replica heartbeat', () => directory.stop());
    },
  };
}
