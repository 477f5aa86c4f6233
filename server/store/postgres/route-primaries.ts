import { eq, inArray } from 'drizzle-orm';
import type { RoutePrimaryRecord } from '../records.ts';
import type { RoutePrimaryRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import { recordChange } from './changes.ts';
import type { PgDb } from './open.ts';
import { routePrimaries } from './schema.ts';

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
    async write(set, remove) {
      for (const r of set) checkStorableTimes(r, ['changedAt']);
      if (set.length === 0 && remove.length === 0) return;
      await db.transaction(async (tx) => {
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
          for (const g of gone) await recordChange(tx, 'route', g.key);
        }
      });
    },
  };
}
