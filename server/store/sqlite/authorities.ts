import { and, desc, eq, isNull, ne } from 'drizzle-orm';
import type { AuthorityRecord } from '../records.ts';
import type { AuthorityRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { SqliteDb } from './open.ts';
import { orUndefined } from '../rows.ts';
import type { RecordChange } from './changes.ts';
import { certificateAuthorities } from './schema.ts';

type Row = typeof certificateAuthorities.$inferSelect;

const record = (row: Row): AuthorityRecord => ({ ...row, retiredAt: orUndefined(row.retiredAt) });

export function sqliteAuthorities(db: SqliteDb, recordChange: RecordChange): AuthorityRepository {
  const newestFirst = [desc(certificateAuthorities.createdAt), desc(certificateAuthorities.id)];
  return {
    async list() {
      return db
        .select()
        .from(certificateAuthorities)
        .orderBy(...newestFirst)
        .all()
        .map(record);
    },
    async addFirst(authority) {
      return db.transaction(() => {
        const signing = db
          .select()
          .from(certificateAuthorities)
          .where(isNull(certificateAuthorities.retiredAt))
          .orderBy(...newestFirst)
          .get();
        if (signing) return record(signing);
        checkStorableTimes(authority, ['notAfter', 'createdAt', 'retiredAt']);
        db.insert(certificateAuthorities).values(authority).run();
        recordChange('authority', authority.id);
        return authority;
      });
    },
    async add(authority) {
      checkStorableTimes(authority, ['notAfter', 'createdAt', 'retiredAt']);
      db.transaction(() => {
        db.insert(certificateAuthorities).values(authority).run();
        recordChange('authority', authority.id);
      });
    },
    async switchTo(id, at) {
      checkStorableTimes({ at }, ['at']);
      return db.transaction(() => {
        const found = db
          .update(certificateAuthorities)
          .set({ createdAt: at, retiredAt: null })
          .where(eq(certificateAuthorities.id, id))
          .run();
        if (found.changes === 0) return false;
        db.update(certificateAuthorities)
          .set({ retiredAt: at })
          .where(and(ne(certificateAuthorities.id, id), isNull(certificateAuthorities.retiredAt)))
          .run();
        recordChange('authority', id);
        return true;
      });
    },
  };
}
