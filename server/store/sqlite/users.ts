import { checkStorableTimes } from '../times.ts';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { UserRecord } from '../records.ts';
import type { UserRepository } from '../store.ts';
import type { SqliteDb } from './open.ts';
import type { RecordChange } from './changes.ts';
import { nodes, users } from './schema.ts';

export function sqliteUsers(db: SqliteDb, record: RecordChange): UserRepository {
  return {
    async list() {
      return db.select().from(users).orderBy(users.createdAt).all();
    },
    async get(id) {
      return db.select().from(users).where(eq(users.id, id)).get();
    },
    async getByEmail(email) {
      return db.select().from(users).where(eq(users.email, email)).get();
    },
    async upsert(user, now) {
      return db.transaction(() => {
        const existing = db.select().from(users).where(eq(users.subject, user.subject)).get();
        if (existing) {
          const updated: UserRecord = { ...existing, ...user };
          db.update(users).set(user).where(eq(users.id, existing.id)).run();
          return { record: updated, changeSeq: record('user', existing.id) };
        }
        const created: UserRecord = { id: `u-${randomUUID()}`, createdAt: now, ...user };
        checkStorableTimes(created, ['createdAt']);
        db.insert(users).values(created).run();
        return { record: created, changeSeq: record('user', created.id) };
      });
    },
    async delete(id) {
      return db.transaction(() => {
        // Their nodes go by cascade: each is a change of its own to whoever follows the log.
        const owned = db.select({ id: nodes.id }).from(nodes).where(eq(nodes.userId, id)).all();
        if (db.delete(users).where(eq(users.id, id)).run().changes === 0) return false;
        for (const node of owned) record('node', node.id);
        record('user', id);
        return true;
      });
    },
  };
}
