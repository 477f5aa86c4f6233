import { Gauge, type Registry } from 'prom-client';
import type { Replication } from './replication-setup.ts';

/** This replica's standing among the others, read when scraped (docs/replicas.md). */
export function addReplicaMetrics(
  registry: Registry,
  r: Pick<Replication, 'leadership' | 'follower' | 'reachability' | 'presence'>,
): void {
  new Gauge({
    name: 'trellis_replica_leader',
    help: '1 while this replica leads (runs the singleton jobs), else 0',
    registers: [registry],
    collect() {
      this.set(r.leadership.isLeader ? 1 : 0);
    },
  });
  new Gauge({
    name: 'trellis_change_log_lag',
    help: 'Changes known to exist in the change log that this replica has not applied yet',
    registers: [registry],
    collect() {
      this.set(Math.max(0, r.follower.headSeq - r.follower.appliedSeq));
    },
  });
  new Gauge({
    name: 'trellis_store_reachable',
    help: '1 while this replica reaches its database, 0 while it is cut off (refusing writes and streams)',
    registers: [registry],
    collect() {
      this.set(r.reachability.reachable ? 1 : 0);
    },
  });
  new Gauge({
    name: 'trellis_presence_backlog',
    help: 'Nodes whose stream presence this replica has yet to write for the other replicas',
    registers: [registry],
    collect() {
      this.set(r.presence.backlog);
    },
  });
}
