import { checkStorableTimes } from '../times.ts';
import { desc } from 'drizzle-orm';
import type { PolicyRepository } from '../store.ts';
import { StoreConflict } from '../store.ts';
import type { SqliteDb } from './open.ts';
import type { RecordChange } from './changes.ts';
import { policies } from './schema.ts';

export function sqlitePolicies(db: SqliteDb, record: RecordChange): PolicyRepository {
  const current = () => db.select().from(policies).orderBy(desc(policies.version)).limit(1).get();
  return {
    async current() {
      return current();
    },
    async list() {
      return db.select().from(policies).orderBy(desc(policies.version)).all();
    },
    async append(policy, expectedVersion) {
      return db.transaction(() => {
        const now = current();
        if (expectedVersion !== undefined && (now?.version ?? 0) !== expectedVersion) {
          throw new StoreConflict(
            'policy.version_conflict',
            `the policy changed since version ${expectedVersion}; it is now version ${now?.version ?? 0}`,
          );
        }
        checkStorableTimes(policy, ['createdAt']);
        const appended = db.insert(policies).values(policy).returning().get();
        const changeSeq = record('policy', String(appended.version));
        return { record: appended, changeSeq };
      });
    },
  };
}
