import { and, eq } from 'drizzle-orm';
import type { PresenceRecord, ReplicaRecord } from '../records.ts';
import type { PresenceRepository, ReplicaRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { RecordChange } from './changes.ts';
import type { SqliteDb } from './open.ts';
import { orUndefined } from '../rows.ts';
import { presence, replicas } from './schema.ts';

/** Presence is soft state, but the other replicas follow it through the change log like the rest. */
export function sqliteReplicas(db: SqliteDb, recordChange: RecordChange): ReplicaRepository {
  return {
    async heartbeat(replica) {
      checkStorableTimes(replica, ['startedAt', 'heartbeatAt']);
      const row = { ...replica, relayAddress: replica.relayAddress ?? null };
      db.insert(replicas).values(row).onConflictDoUpdate({ target: replicas.id, set: row }).run();
    },
    async list() {
      return db
        .select()
        .from(replicas)
        .orderBy(replicas.id)
        .all()
        .map(({ relayAddress, ...rest }): ReplicaRecord => {
          const relay = orUndefined(relayAddress);
          return relay === undefined ? rest : { ...rest, relayAddress: relay };
        });
    },
    async remove(id) {
      return db.transaction((tx) => {
        const held = tx.delete(presence).where(eq(presence.replicaId, id)).returning({ nodeId: presence.nodeId }).all();
        for (const p of held) recordChange('presence', p.nodeId);
        return tx.delete(replicas).where(eq(replicas.id, id)).run().changes > 0;
      });
    },
  };
}

export function sqlitePresence(db: SqliteDb, recordChange: RecordChange): PresenceRepository {
  const toRecord = (row: typeof presence.$inferSelect): PresenceRecord => {
    const { observedEndpoint, routeHealth, paths, ...rest } = row;
    return {
      ...rest,
      ...(observedEndpoint !== null && { observedEndpoint }),
      ...(routeHealth !== null && routeHealth !== undefined && { routeHealth }),
      ...(paths !== null && paths !== undefined && { paths }),
    };
  };
  return {
    async list() {
      return db.select().from(presence).orderBy(presence.nodeId).all().map(toRecord);
    },
    async get(nodeId) {
      const row = db.select().from(presence).where(eq(presence.nodeId, nodeId)).get();
      return row && toRecord(row);
    },
    async set(record) {
      checkStorableTimes(record, ['since']);
      const row = {
        ...record,
        observedEndpoint: record.observedEndpoint ?? null,
        routeHealth: record.routeHealth ?? null,
        paths: record.paths ?? null,
      };
      // A node deleted meanwhile has no presence to hold: the foreign key refuses, and that is fine.
      db.transaction((tx) => {
        tx.insert(presence).values(row).onConflictDoUpdate({ target: presence.nodeId, set: row }).run();
        recordChange('presence', record.nodeId);
      });
    },
    async clear(nodeId, replicaId) {
      return db.transaction((tx) => {
        const gone =
          tx
            .delete(presence)
            .where(and(eq(presence.nodeId, nodeId), eq(presence.replicaId, replicaId)))
            .run().changes > 0;
        if (gone) recordChange('presence', nodeId);
        return gone;
      });
    },
    async clearReplica(replicaId) {
      return db.transaction((tx) => {
        const held = tx
          .delete(presence)
          .where(eq(presence.replicaId, replicaId))
          .returning({ nodeId: presence.nodeId })
          .all()
          .map((r) => r.nodeId)
          .sort();
        for (const id of held) recordChange('presence', id);
        return held;
      });
    },
  };
}
