import { and, eq } from 'drizzle-orm';
import type { PresenceRecord, ReplicaRecord } from '../records.ts';
import type { PresenceRepository, ReplicaRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import { recordChange } from './changes.ts';
import type { PgDb } from './open.ts';
import { presence, replicas } from './schema.ts';

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
        for (const p of held) await recordChange(tx, 'presence', p.nodeId);
        return ((await tx.delete(replicas).where(eq(replicas.id, id))).rowCount ?? 0) > 0;
      });
    },
  };
}

export function postgresPresence(db: PgDb): PresenceRepository {
  const toRecord = ({
    observedEndpoint,
    routeHealth,
    paths,
    ...rest
  }: typeof presence.$inferSelect): PresenceRecord => ({
    ...rest,
    ...(observedEndpoint !== null && { observedEndpoint }),
    ...(routeHealth !== null && routeHealth !== undefined && { routeHealth }),
    ...(paths !== null && paths !== undefined && { paths }),
  });
  return {
    async list() {
      return (await db.select().from(presence).orderBy(presence.nodeId)).map(toRecord);
    },
    async get(nodeId) {
      const [row] = await db.select().from(presence).where(eq(presence.nodeId, nodeId));
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
    async clearReplica(replicaId) {
      return db.transaction(async (tx) => {
        const gone = await tx
          .delete(presence)
          .where(eq(presence.replicaId, replicaId))
          .returning({ nodeId: presence.nodeId });
        const ids = gone.map((r) => r.nodeId).sort();
        for (const id of ids) await recordChange(tx, 'presence', id);
        return ids;
      });
    },
  };
}
