import { and, eq, inArray, isNotNull, lt, or, sql } from 'drizzle-orm';
import type { PresenceRecord, ReplicaRecord } from '../records.ts';
import type { PresenceRepository, ReplicaRepository } from '../store.ts';
import { presenceRecordOf, presenceRowOf } from '../rows.ts';
import { checkLeaseMs, checkStorableTimes } from '../times.ts';
import { recordChange, recordChanges } from './changes.ts';
import type { PgDb } from './open.ts';
import { nodes, presence, replicas } from './schema.ts';

export function postgresReplicas(db: PgDb): ReplicaRepository {
  return {
    async heartbeat(replica) {
      checkStorableTimes(replica, ['startedAt', 'heartbeatAt']);
      const row = { ...replica, relayAddress: replica.relayAddress ?? null };
      await db.insert(replicas).values(row).onConflictDoUpdate({ target: replicas.id, set: row });
    },
    async list() {
      const rows = await db.select().from(replicas).orderBy(replicas.id);
      return rows.map(({ relayAddress, ...rest }): ReplicaRecord =>
        relayAddress === null ? rest : { ...rest, relayAddress },
      );
    },
    async remove(id) {
      return db.transaction(async (tx) => {
        const held = await tx.delete(presence).where(eq(presence.replicaId, id)).returning({ nodeId: presence.nodeId });
        await recordChanges(tx, 'presence', held.map((p) => p.nodeId).sort());
        return ((await tx.delete(replicas).where(eq(replicas.id, id))).rowCount ?? 0) > 0;
      });
    },
  };
}

/** The database's clock in unix ms: leases never depend on how two replicas' clocks agree. */
const DB_NOW_MS = sql`(extract(epoch from clock_timestamp()) * 1000)::bigint`;
const leaseEnd = (leaseMs: number) => {
  checkLeaseMs(leaseMs);
  return sql`${DB_NOW_MS} + ${leaseMs}::bigint`;
};

const rowOf = (record: PresenceRecord, leaseMs: number | undefined) => presenceRowOf(record, leaseMs, leaseEnd);

/** An upsert of many rows replaces each conflicting row with the one it proposed. */
const fromExcluded = {
  replicaId: sql.raw('excluded.replica_id'),
  observedEndpoint: sql.raw('excluded.observed_endpoint'),
  routeHealth: sql.raw('excluded.route_health'),
  paths: sql.raw('excluded.paths'),
  since: sql.raw('excluded.since'),
  leaseUntil: sql.raw('excluded.lease_until'),
};

export function postgresPresence(db: PgDb): PresenceRepository {
  return {
    async list() {
      return (await db.select().from(presence).orderBy(presence.nodeId)).map(presenceRecordOf);
    },
    async get(nodeId) {
      const [row] = await db.select().from(presence).where(eq(presence.nodeId, nodeId));
      return row && presenceRecordOf(row);
    },
    async set(record, leaseMs) {
      const row = rowOf(record, leaseMs);
      // Soft state, but the other replicas follow it through the change log like the rest.
      await db.transaction(async (tx) => {
        await tx.insert(presence).values(row).onConflictDoUpdate({ target: presence.nodeId, set: row });
        await recordChange(tx, 'presence', record.nodeId);
      });
    },
    async clear(nodeId, replicaId) {
      return db.transaction(async (tx) => {
        const gone = await tx
          .delete(presence)
          .where(and(eq(presence.nodeId, nodeId), eq(presence.replicaId, replicaId)))
          .returning({ nodeId: presence.nodeId });
        if (gone.length > 0) await recordChange(tx, 'presence', nodeId);
        return gone.length > 0;
      });
    },
    async write(batch) {
      // In node order: two replicas' batches lock shared rows in the same order, never crosswise.
      const sets = batch
        .flatMap((w) => (w.kind === 'set' ? [rowOf(w.record, w.leaseMs)] : []))
        .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
      const clears = batch.flatMap((w) => (w.kind === 'clear' ? [w] : []));
      if (batch.length === 0) return;
      // A few statements for the whole batch: the change log's lock is held for one insert.
      await db.transaction(async (tx) => {
        const changed: string[] = [];
        if (sets.length > 0) {
          // Nodes deleted meanwhile hold no presence; the others cannot be deleted until this commits.
          const live = await tx
            .select({ id: nodes.id })
            .from(nodes)
            .where(
              inArray(
                nodes.id,
                sets.map((r) => r.nodeId),
              ),
            )
            .for('key share');
          const kept = new Set(live.map((n) => n.id));
          const rows = sets.filter((r) => kept.has(r.nodeId));
          if (rows.length > 0) {
            await tx.insert(presence).values(rows).onConflictDoUpdate({ target: presence.nodeId, set: fromExcluded });
            changed.push(...rows.map((r) => r.nodeId));
          }
        }
        if (clears.length > 0) {
          const gone = await tx
            .delete(presence)
            .where(or(...clears.map((c) => and(eq(presence.nodeId, c.nodeId), eq(presence.replicaId, c.replicaId)))))
            .returning({ nodeId: presence.nodeId });
          changed.push(...gone.map((r) => r.nodeId));
        }
        await recordChanges(tx, 'presence', changed.sort());
      });
    },
    async clearReplica(replicaId) {
      return db.transaction(async (tx) => {
        const gone = await tx
          .delete(presence)
          .where(eq(presence.replicaId, replicaId))
          .returning({ nodeId: presence.nodeId });
        const ids = gone.map((r) => r.nodeId).sort();
        await recordChanges(tx, 'presence', ids);
        return ids;
      });
    },
    async renewLeases(replicaId, nodeIds, leaseMs) {
      const until = leaseEnd(leaseMs);
      if (nodeIds.length === 0) return [];
      const renewed = await db
        .update(presence)
        .set({ leaseUntil: until })
        .where(and(eq(presence.replicaId, replicaId), inArray(presence.nodeId, [...nodeIds])))
        .returning({ nodeId: presence.nodeId });
      return renewed.map((r) => r.nodeId).sort();
    },
    async lapsedLeases() {
      return db
        .select({ nodeId: presence.nodeId, replicaId: presence.replicaId })
        .from(presence)
        .where(and(isNotNull(presence.leaseUntil), lt(presence.leaseUntil, DB_NOW_MS)))
        .orderBy(presence.nodeId);
    },
  };
}
