import { eq, inArray, sql } from 'drizzle-orm';
import type { RoutePrimaryRecord } from '../records.ts';
import { staleTerm, type RoutePrimaryRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { RecordChange } from './changes.ts';
import type { SqliteDb } from './open.ts';
import { leaderTerm, routePrimaries } from './schema.ts';

export function sqliteRoutePrimaries(db: SqliteDb, recordChange: RecordChange): RoutePrimaryRepository {
  const toRecord = ({ nodeId, ...rest }: typeof routePrimaries.$inferSelect): RoutePrimaryRecord =>
    nodeId === null ? rest : { ...rest, nodeId };
  return {
    async list() {
      return db.select().from(routePrimaries).orderBy(routePrimaries.key).all().map(toRecord);
    },
    async get(key) {
      const row = db.select().from(routePrimaries).where(eq(routePrimaries.key, key)).get();
      return row && toRecord(row);
    },
    async write(set, remove, term) {
      for (const r of set) checkStorableTimes(r, ['changedAt']);
      if (set.length === 0 && remove.length === 0) return;
      db.transaction((tx) => {
        if (term !== undefined) {
          const current = tx.select().from(leaderTerm).where(eq(leaderTerm.id, 1)).get();
          if (current?.term !== term) throw staleTerm(term);
        }
        for (const r of set) {
          const row = { ...r, nodeId: r.nodeId ?? null };
          tx.insert(routePrimaries).values(row).onConflictDoUpdate({ target: routePrimaries.key, set: row }).run();
          recordChange('route', r.key);
        }
        if (remove.length > 0) {
          const gone = tx
            .delete(routePrimaries)
            .where(inArray(routePrimaries.key, [...remove]))
            .returning({ key: routePrimaries.key })
            .all();
          for (const g of gone) recordChange('route', g.key);
        }
      });
    },
    async claimTerm() {
      const row = db
        .update(leaderTerm)
        .set({ term: sql`${leaderTerm.term} + 1` })
        .where(eq(leaderTerm.id, 1))
        .returning({ term: leaderTerm.term })
        .get();
      return row!.term;
    },
  };
}
