import { and, eq, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import type { PresenceRecord, ReplicaRecord } from '../records.ts';
import type { PresenceRepository, ReplicaRepository } from '../store.ts';
import type { RecordChange } from './changes.ts';
import type { SqliteDb } from './open.ts';
import { orUndefined, presenceRecordOf, presenceRowOf } from '../rows.ts';
import { checkLeaseMs, checkStorableTimes } from '../times.ts';
import { nodes, presence, replicas } from './schema.ts';

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

/** The database's clock in unix ms (on SQLite, the one process's: there is one replica). */
const DB_NOW_MS = sql`CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;
const leaseEnd = (leaseMs: number) => {
  checkLeaseMs(leaseMs);
  return sql`${DB_NOW_MS} + ${leaseMs}`;
};

const rowOf = (record: PresenceRecord, leaseMs: number | undefined) => presenceRowOf(record, leaseMs, leaseEnd);

export function sqlitePresence(db: SqliteDb, recordChange: RecordChange): PresenceRepository {
  const setRow = (row: ReturnType<typeof rowOf>) => {
    db.insert(presence).values(row).onConflictDoUpdate({ target: presence.nodeId, set: row }).run();
    recordChange('presence', row.nodeId);
  };
  const clearRow = (nodeId: string, replicaId: string): boolean => {
    const gone =
      db
        .delete(presence)
        .where(and(eq(presence.nodeId, nodeId), eq(presence.replicaId, replicaId)))
        .run().changes > 0;
    if (gone) recordChange('presence', nodeId);
    return gone;
  };
  return {
    async list() {
      return db.select().from(presence).orderBy(presence.nodeId).all().map(presenceRecordOf);
    },
    async get(nodeId) {
      const row = db.select().from(presence).where(eq(presence.nodeId, nodeId)).get();
      return row && presenceRecordOf(row);
    },
    async set(record, leaseMs) {
      const row = rowOf(record, leaseMs);
      // A node deleted meanwhile has no presence to hold: the foreign key refuses, and that is fine.
      db.transaction(() => setRow(row));
    },
    async clear(nodeId, replicaId) {
      return db.transaction(() => clearRow(nodeId, replicaId));
    },
    async write(batch) {
      const rows = batch.map((w) => (w.kind === 'set' ? rowOf(w.record, w.leaseMs) : w));
      db.transaction((tx) => {
        const ids = rows.flatMap((r) => ('kind' in r ? [] : [r.nodeId]));
        const live = new Set(
          tx
            .select({ id: nodes.id })
            .from(nodes)
            .where(inArray(nodes.id, ids))
            .all()
            .map((n) => n.id),
        );
        for (const r of rows) {
          if ('kind' in r) clearRow(r.nodeId, r.replicaId);
          else if (live.has(r.nodeId)) setRow(r);
        }
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
    async renewLeases(replicaId, nodeIds, leaseMs) {
      const until = leaseEnd(leaseMs);
      if (nodeIds.length === 0) return [];
      return db
        .update(presence)
        .set({ leaseUntil: until })
        .where(and(eq(presence.replicaId, replicaId), inArray(presence.nodeId, [...nodeIds])))
        .returning({ nodeId: presence.nodeId })
        .all()
        .map((r) => r.nodeId)
        .sort();
    },
    async lapsedLeases() {
      return db
        .select({ nodeId: presence.nodeId, replicaId: presence.replicaId })
        .from(presence)
        .where(and(isNotNull(presence.leaseUntil), lt(presence.leaseUntil, DB_NOW_MS)))
        .orderBy(presence.nodeId)
        .all();
    },
  };
}
