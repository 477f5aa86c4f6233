import { and, eq, inArray, sql } from 'drizzle-orm';
import type { RoutePrimaryRecord } from '../records.ts';
import { staleTerm, type RoutePrimaryRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import { recordChange, recordChanges } from './changes.ts';
import type { PgDb } from './open.ts';
import { leaderTerm, routePrimaries } from './schema.ts';

export function postgresRoutePrimaries(db: PgDb): RoutePrimaryRepository {
  const toRecord = ({ nodeId, ...rest }: typeof routePrimaries.$inferSelect): RoutePrimaryRecord =>
    nodeId === null ? rest : { ...rest, nodeId };
  return {
    async list() {
      return (await db.select().from(routePrimaries).orderBy(routePrimaries.key)).map(toRecord);
    },
    async get(key) {
      const [row] = await db.select().from(routePrimaries).where(eq(routePrimaries.key, key));
      return row && toRecord(row);
    },
    async write(set, remove, term) {
      for (const r of set) checkStorableTimes(r, ['changedAt']);
      if (set.length === 0 && remove.length === 0) return;
      await db.transaction(async (tx) => {
        if (term !== undefined) {
          // Locks the term's row to the commit: a successor's claim waits for this write, or
          // this write sees the claim (READ COMMITTED re-reads the row it waited for) and stops.
          const current = await tx
            .update(leaderTerm)
            .set({ term: sql`${leaderTerm.term}` })
            .where(and(eq(leaderTerm.id, 1), eq(leaderTerm.term, term)))
            .returning({ term: leaderTerm.term });
          if (current.length === 0) throw staleTerm(term);
        }
        for (const r of set) {
          const row = { ...r, nodeId: r.nodeId ?? null };
          await tx.insert(routePrimaries).values(row).onConflictDoUpdate({ target: routePrimaries.key, set: row });
          await recordChange(tx, 'route', r.key);
        }
        if (remove.length > 0) {
          const gone = await tx
            .delete(routePrimaries)
            .where(inArray(routePrimaries.key, [...remove]))
            .returning({ key: routePrimaries.key });
          await recordChanges(
            tx,
            'route',
            gone.map((g) => g.key),
          );
        }
      });
    },
    async claimTerm() {
      const [row] = await db
        .update(leaderTerm)
        .set({ term: sql`${leaderTerm.term} + 1` })
        .where(eq(leaderTerm.id, 1))
        .returning({ term: leaderTerm.term });
      return row!.term;
    },
  };
}
