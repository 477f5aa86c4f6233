import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { UserRecord } from '../records.ts';
import type { UserRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import { recordChange, recordChanges } from './changes.ts';
import type { PgDb } from './open.ts';
import { nodes, users } from './schema.ts';

export function postgresUsers(db: PgDb): UserRepository {
  return {
    async list() {
      return db.select().from(users).orderBy(users.createdAt, users.id);
    },
    async get(id) {
      return (await db.select().from(users).where(eq(users.id, id)))[0];
    },
    async getByEmail(email) {
      return (await db.select().from(users).where(eq(users.email, email)))[0];
    },
    async upsert(user, now) {
      const created: UserRecord = { id: `u-${randomUUID()}`, createdAt: now, ...user };
      checkStorableTimes(created, ['createdAt']);
      // One statement: two replicas signing the same person in at once make one user.
      return db.transaction(async (tx) => {
        const [row] = await tx
          .insert(users)
          .values(created)
          .onConflictDoUpdate({
            target: users.subject,
            set: { email: user.email, displayName: user.displayName, groups: user.groups },
          })
          .returning();
        const changeSeq = await recordChange(tx, 'user', row!.id);
        return { record: row!, changeSeq };
      });
    },
    async delete(id) {
      return db.transaction(async (tx) => {
        // Their nodes go by cascade: each is a change of its own to whoever follows the log.
        const owned = await tx.select({ id: nodes.id }).from(nodes).where(eq(nodes.userId, id)).for('update');
        const gone = await tx.delete(users).where(eq(users.id, id)).returning({ id: users.id });
        if (gone.length === 0) return false;
        await recordChanges(
          tx,
          'node',
          owned.map((n) => n.id),
        );
        await recordChange(tx, 'user', id);
        return true;
      });
    },
  };
}
