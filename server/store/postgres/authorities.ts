import { and, desc, eq, isNull, ne, sql } from 'drizzle-orm';
import type { AuthorityRecord } from '../records.ts';
import type { AuthorityRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import { recordChange } from './changes.ts';
import type { PgDb } from './open.ts';
import { certificateAuthorities } from './schema.ts';

type Row = typeof certificateAuthorities.$inferSelect;

const record = ({ retiredAt, ...rest }: Row): AuthorityRecord => (retiredAt === null ? rest : { ...rest, retiredAt });

export function postgresAuthorities(db: PgDb): AuthorityRepository {
  const newestFirst = [desc(certificateAuthorities.createdAt), desc(certificateAuthorities.id)];
  return {
    async list() {
      return (
        await db
          .select()
          .from(certificateAuthorities)
          .orderBy(...newestFirst)
      ).map(record);
    },
    async addFirst(authority) {
      checkStorableTimes(authority, ['notAfter', 'createdAt', 'retiredAt']);
      return db.transaction(async (tx) => {
        // Two replicas starting on an empty database: the second waits, then finds the first's.
        await tx.execute(sql`LOCK TABLE certificate_authorities IN EXCLUSIVE MODE`);
        const [signing] = await tx
          .select()
          .from(certificateAuthorities)
          .where(isNull(certificateAuthorities.retiredAt))
          .orderBy(...newestFirst)
          .limit(1);
        if (signing) return record(signing);
        await tx.insert(certificateAuthorities).values(authority);
        await recordChange(tx, 'authority', authority.id);
        return authority;
      });
    },
    async add(authority) {
      checkStorableTimes(authority, ['notAfter', 'createdAt', 'retiredAt']);
      await db.transaction(async (tx) => {
        await tx.insert(certificateAuthorities).values(authority);
        await recordChange(tx, 'authority', authority.id);
      });
    },
    async switchTo(id, at) {
      checkStorableTimes({ at }, ['at']);
      return db.transaction(async (tx) => {
        const found = await tx
          .update(certificateAuthorities)
          .set({ createdAt: at, retiredAt: null })
          .where(eq(certificateAuthorities.id, id))
          .returning({ id: certificateAuthorities.id });
        if (found.length === 0) return false;
        await tx
          .update(certificateAuthorities)
          .set({ retiredAt: at })
          .where(and(ne(certificateAuthorities.id, id), isNull(certificateAuthorities.retiredAt)));
        await recordChange(tx, 'authority', id);
        return true;
      });
    },
  };
}
