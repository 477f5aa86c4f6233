import { eq, lt, or } from 'drizzle-orm';
import type { ConsoleSessionRecord } from '../records.ts';
import type { ConsoleSessionRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { SqliteDb } from './open.ts';
import { orUndefined } from '../rows.ts';
import { consoleSessions } from './schema.ts';

export function sqliteConsoleSessions(db: SqliteDb): ConsoleSessionRepository {
  const toRecord = (row: typeof consoleSessions.$inferSelect): ConsoleSessionRecord => {
    const { source, ...rest } = row;
    const s = orUndefined(source);
    return s === undefined ? rest : { ...rest, source: s };
  };
  return {
    async create(session) {
      checkStorableTimes(session, ['createdAt', 'lastSeenAt', 'expiresAt']);
      db.insert(consoleSessions).values(session).run();
    },
    async get(id) {
      const row = db.select().from(consoleSessions).where(eq(consoleSessions.id, id)).get();
      return row && toRecord(row);
    },
    async touch(id, lastSeenAt) {
      checkStorableTimes({ lastSeenAt }, ['lastSeenAt']);
      return db.update(consoleSessions).set({ lastSeenAt }).where(eq(consoleSessions.id, id)).run().changes > 0;
    },
    async delete(id) {
      return db.delete(consoleSessions).where(eq(consoleSessions.id, id)).run().changes > 0;
    },
    async deleteForUser(userId) {
      return db.delete(consoleSessions).where(eq(consoleSessions.userId, userId)).run().changes;
    },
    async prune(now, idleBefore) {
      return db
        .delete(consoleSessions)
        .where(or(lt(consoleSessions.expiresAt, now + 1), lt(consoleSessions.lastSeenAt, idleBefore)))
        .run().changes;
    },
  };
}
