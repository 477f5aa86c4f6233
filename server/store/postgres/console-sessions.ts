import { eq, lt, or } from 'drizzle-orm';
import type { ConsoleSessionRecord } from '../records.ts';
import type { ConsoleSessionRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { PgDb } from './open.ts';
import { consoleSessions } from './schema.ts';

export function postgresConsoleSessions(db: PgDb): ConsoleSessionRepository {
  const toRecord = ({ source, ...rest }: typeof consoleSessions.$inferSelect): ConsoleSessionRecord =>
    source === null ? rest : { ...rest, source };
  const count = (r: { rowCount: number | null }) => r.rowCount ?? 0;
  return {
    async create(session) {
      checkStorableTimes(session, ['createdAt', 'lastSeenAt', 'expiresAt']);
      await db.insert(consoleSessions).values(session);
    },
    async get(id) {
      const [row] = await db.select().from(consoleSessions).where(eq(consoleSessions.id, id));
      return row && toRecord(row);
    },
    async touch(id, lastSeenAt) {
      checkStorableTimes({ lastSeenAt }, ['lastSeenAt']);
      return count(await db.update(consoleSessions).set({ lastSeenAt }).where(eq(consoleSessions.id, id))) > 0;
    },
    async delete(id) {
      return count(await db.delete(consoleSessions).where(eq(consoleSessions.id, id))) > 0;
    },
    async deleteForUser(userId) {
      return count(await db.delete(consoleSessions).where(eq(consoleSessions.userId, userId)));
    },
    async prune(now, idleBefore) {
      return count(
        await db
          .delete(consoleSessions)
          .where(or(lt(consoleSessions.expiresAt, now + 1), lt(consoleSessions.lastSeenAt, idleBefore))),
      );
    },
  };
}
