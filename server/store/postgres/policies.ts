import { desc, sql } from 'drizzle-orm';
import type { PolicyRepository } from '../store.ts';
import { StoreConflict } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import { recordChange } from './changes.ts';
import type { PgDb, PgTx } from './open.ts';
import { policies } from './schema.ts';

export function postgresPolicies(db: PgDb): PolicyRepository {
  const current = async (q: PgDb | PgTx = db) =>
    (await q.select().from(policies).orderBy(desc(policies.version)).limit(1))[0];
  return {
    current: () => current(),
    async list() {
      return db.select().from(policies).orderBy(desc(policies.version));
    },
    async append(policy, expectedVersion) {
      checkStorableTimes(policy, ['createdAt']);
      return db.transaction(async (tx) => {
        // Appends queue here, across replicas: each reads the version the one before it wrote.
        await tx.execute(sql`LOCK TABLE policies IN EXCLUSIVE MODE`);
        const now = await current(tx);
        if (expectedVersion !== undefined && (now?.version ?? 0) !== expectedVersion) {
          throw new StoreConflict(
            'policy.version_conflict',
            `the policy changed since version ${expectedVersion}; it is now version ${now?.version ?? 0}`,
          );
        }
        const [appended] = await tx
          .insert(policies)
          .values({ ...policy, version: (now?.version ?? 0) + 1 })
          .returning();
        const changeSeq = await recordChange(tx, 'policy', String(appended!.version));
        return { record: appended!, changeSeq };
      });
    },
  };
}
