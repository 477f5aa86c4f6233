import { and, desc, eq, isNull, ne } from 'drizzle-orm';
import type { AuthorityRecord } from '../records.ts';
import type { AuthorityRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { SqliteDb } from './open.ts';
import { orUndefined } from '../rows.ts';
import type { RecordChange } from './changes.ts';
import { auditEvents, certificateAuthorities } from './schema.ts';

type Row = typeof certificateAuthorities.$inferSelect;

const record = ({ rotating, ...row }: Row): AuthorityRecord => ({
  ...row,
  retiredAt: orUndefined(row.retiredAt),
  ...(rotating === true && { rotating }),
});

export function sqliteAuthorities(db: SqliteDb, recordChange: RecordChange): AuthorityRepository {
  const newestFirst = [desc(certificateAuthorities.createdAt), desc(certificateAuthorities.id)];
  /** switchTo's writes, inside a transaction of the caller's. */
  const switchIn = (id: string, at: number): boolean => {
    const found = db
      .update(certificateAuthorities)
      .set({ createdAt: at, retiredAt: null, rotating: null })
      .where(eq(certificateAuthorities.id, id))
      .run();
    if (found.changes === 0) return false;
    db.update(certificateAuthorities)
      .set({ retiredAt: at, rotating: null })
      .where(and(ne(certificateAuthorities.id, id), isNull(certificateAuthorities.retiredAt)))
      .run();
    recordChange('authority', id);
    return true;
  };
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
    async startRotation(authority, signsNow) {
      checkStorableTimes(authority, ['notAfter', 'createdAt', 'retiredAt']);
      return db.transaction(() => {
        const stored = db
          .insert(certificateAuthorities)
          .values({ ...authority, rotating: true })
          .onConflictDoNothing()
          .run();
        if (stored.changes === 0) return false;
        if (signsNow) switchIn(authority.id, authority.createdAt);
        else recordChange('authority', authority.id);
        return true;
      });
    },
    async switchTo(id, at) {
      checkStorableTimes({ at }, ['at']);
      return db.transaction(() => switchIn(id, at));
    },
    async closeLapsedRotation(id, event) {
      checkStorableTimes(event, ['at']);
      return db.transaction(() => {
        const open = db
          .select()
          .from(certificateAuthorities)
          .where(and(eq(certificateAuthorities.id, id), eq(certificateAuthorities.rotating, true)))
          .get();
        if (!open || open.createdAt > event.at) return false;
        switchIn(id, open.createdAt);
        db.insert(auditEvents).values(event).run();
        return true;
      });
    },
  };
}
