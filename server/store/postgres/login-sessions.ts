import { and, count, eq, gt, lt } from 'drizzle-orm';
import type { LoginSessionRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { PgDb } from './open.ts';
import { loginSessionOf } from '../rows.ts';
import { loginSessions } from './schema.ts';

export function postgresLoginSessions(db: PgDb): LoginSessionRepository {
  const pending = (id: string) => and(eq(loginSessions.id, id), eq(loginSessions.status, 'pending'));
  const changed = (r: { rowCount: number | null }) => (r.rowCount ?? 0) > 0;
  return {
    async create(session) {
      checkStorableTimes(session, ['createdAt', 'expiresAt']);
      await db.insert(loginSessions).values(session);
    },
    async get(id) {
      const [row] = await db.select().from(loginSessions).where(eq(loginSessions.id, id));
      return row && loginSessionOf(row);
    },
    async pendingByState(state) {
      const [row] = await db
        .select()
        .from(loginSessions)
        .where(and(eq(loginSessions.state, state), eq(loginSessions.status, 'pending')));
      return row && loginSessionOf(row);
    },
    async countOpen(now) {
      const [row] = await db.select({ n: count() }).from(loginSessions).where(gt(loginSessions.expiresAt, now));
      return row!.n;
    },
    async bindBrowser(id, browserBinding) {
      return changed(await db.update(loginSessions).set({ browserBinding }).where(pending(id)));
    },
    async settle(id, outcome) {
      // Row-locked by the UPDATE: of two replicas settling at once, the second finds it settled.
      return changed(await db.update(loginSessions).set(outcome).where(pending(id)));
    },
    async consume(id, machineKey) {
      return changed(
        await db
          .update(loginSessions)
          .set({ status: 'used' })
          .where(
            and(
              eq(loginSessions.id, id),
              eq(loginSessions.machineKey, machineKey),
              eq(loginSessions.status, 'complete'),
            ),
          ),
      );
    },
    async prune(before) {
      return (await db.delete(loginSessions).where(lt(loginSessions.expiresAt, before))).rowCount ?? 0;
    },
  };
}
