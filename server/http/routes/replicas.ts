import { ReplicaView, listOf } from '../../../protocol/admin.ts';
import { isoTime } from '../../../protocol/time.ts';
import type { Replication } from '../../replication/replication-setup.ts';
import { route, type Route } from '../route.ts';

/** The replicas on this database, as the answering one sees them (docs/replicas.md). */
export function replicaRoutes(r: Pick<Replication, 'directory' | 'leadership' | 'follower' | 'reachability'>): Route[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/replicas',
      summary: 'Every server replica: address, heartbeat, leadership, change-log lag, connected nodes, database state',
      tag: 'replicas',
      auth: { kind: 'admin', scope: 'read' },
      response: listOf(ReplicaView),
      handle: async () => {
        const self = r.directory.id;
        const leads = r.leadership.isLeader;
        const head = r.follower.headSeq;
        const items = r.directory.list().map((x): ReplicaView => {
          const isSelf = x.id === self;
          const applied = isSelf ? r.follower.appliedSeq : x.appliedSeq;
          return {
            id: x.id,
            address: x.advertise,
            startedAt: isoTime(x.startedAt),
            lastHeartbeat: isoTime(x.heartbeatAt),
            alive: x.alive,
            // One lock: while this replica holds it, no other does; otherwise each live replica's
            // last heartbeat says whether it held it then.
            leader: isSelf ? leads : !leads && x.alive && x.leading,
            appliedSeq: applied,
            headSeq: head,
            lag: Math.max(0, head - applied),
            connected: x.connected,
            database: isSelf
              ? r.reachability.reachable
                ? 'reachable'
                : 'unreachable'
              : x.alive
                ? 'reachable'
                : 'unknown',
            self: isSelf,
          };
        });
        return { items };
      },
    }),
  ];
}
