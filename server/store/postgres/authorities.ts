import { and, desc, eq, isNull, ne, sql } from 'drizzle-orm';
import type { AuthorityRecord } from '../records.ts';
import type { AuthorityRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import { recordChange } from './changes.ts';
import type { PgDb, PgTx } from './open.ts';
import { auditEvents, certificateAuthorities } from './schema.ts';

type Row = typeof certificateAuthorities.$inferSelect;

const record = ({ retiredAt, rotating, ...rest }: Row): AuthorityRecord => ({
  ...rest,
  ...(retiredAt !== null && { retiredAt }),
  ...(rotating === true && { rotating }),
});

/** switchTo's writes, inside the caller's transaction. */
async function switchIn(tx: PgTx, id: string, at: number): Promise<boolean> {
  const found = await tx
    .update(certificateAuthorities)
    .set({ createdAt: at, retiredAt: null, rotating: null })
    .where(eq(certificateAuthorities.id, id))
    .returning({ id: certificateAuthorities.id });
  if (found.length === 0) return false;
  await tx
    .update(certificateAuthorities)
    .set({ retiredAt: at, rotating: null })
    .where(and(ne(certificateAuthorities.id, id), isNull(certificateAuthorities.retiredAt)));
  await recordChange(tx, 'authority', id);
  return true;
}

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
    async startRotation(authority, signsNow) {
      checkStorableTimes(authority, ['notAfter', 'createdAt', 'retiredAt']);
      return db.transaction(async (tx) => {
        // A second rotation's insert waits for the first's transaction on the unique index,
        // then does nothing: the first one is in progress.
        const stored = await tx
          .insert(certificateAuthorities)
          .values({ ...authority, rotating: true })
          .onConflictDoNothing()
          .returning({ id: certificateAuthorities.id });
        if (stored.length === 0) return false;
        if (signsNow) await switchIn(tx, authority.id, authority.createdAt);
        else await recordChange(tx, 'authority', authority.id);
        return true;
      });
    },
    async switchTo(id, at) {
      checkStorableTimes({ at }, ['at']);
      return db.transaction((tx) => switchIn(tx, id, at));
    },
    async closeLapsedRotation(id, event) {
      checkStorableTimes(event, ['at']);
      return db.transaction(async (tx) => {
        // FOR UPDATE: a second replica waits here, then finds the rotation closed.
        const [open] = await tx
          .select()
          .from(certificateAuthorities)
          .where(and(eq(certificateAuthorities.id, id), eq(certificateAuthorities.rotating, true)))
          .for('update');
        if (!open || open.createdAt > event.at) return false;
        await switchIn(tx, id, open.createdAt);
        await tx.insert(auditEvents).values(event);
        return true;
      });
    },
  };
}
