import { and, count, eq, gt, lt } from 'drizzle-orm';
import type { LoginSessionRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { SqliteDb } from './open.ts';
import { loginSessionOf } from '../rows.ts';
import { loginSessions } from './schema.ts';

export function sqliteLoginSessions(db: SqliteDb): LoginSessionRepository {
  const pending = (id: string) => and(eq(loginSessions.id, id), eq(loginSessions.status, 'pending'));
  return {
    async create(session) {
      checkStorableTimes(session, ['createdAt', 'expiresAt']);
      db.insert(loginSessions).values(session).run();
    },
    async get(id) {
      const row = db.select().from(loginSessions).where(eq(loginSessions.id, id)).get();
      return row && loginSessionOf(row);
    },
    async pendingByState(state) {
      const row = db
        .select()
        .from(loginSessions)
        .where(and(eq(loginSessions.state, state), eq(loginSessions.status, 'pending')))
        .get();
      return row && loginSessionOf(row);
    },
    async countOpen(now) {
      return db.select({ n: count() }).from(loginSessions).where(gt(loginSessions.expiresAt, now)).get()!.n;
    },
    async bindBrowser(id, browserBinding) {
      return db.update(loginSessions).set({ browserBinding }).where(pending(id)).run().changes > 0;
    },
    async settle(id, outcome) {
      return db.update(loginSessions).set(outcome).where(pending(id)).run().changes > 0;
    },
    async consume(id, machineKey) {
      const found = db
        .update(loginSessions)
        .set({ status: 'used' })
        .where(
          and(eq(loginSessions.id, id), eq(loginSessions.machineKey, machineKey), eq(loginSessions.status, 'complete')),
        )
        .run();
      return found.changes > 0;
    },
    async prune(before) {
      return db.delete(loginSessions).where(lt(loginSessions.expiresAt, before)).run().changes;
    },
  };
}
