import { count, eq, gt, lt } from 'drizzle-orm';
import type { ConsoleSignInRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { SqliteDb } from './open.ts';
import { consoleSignIns } from './schema.ts';

export function sqliteConsoleSignIns(db: SqliteDb): ConsoleSignInRepository {
  return {
    async create(signIn) {
      checkStorableTimes(signIn, ['createdAt', 'expiresAt']);
      db.insert(consoleSignIns).values(signIn).run();
    },
    async take(state) {
      return db.delete(consoleSignIns).where(eq(consoleSignIns.state, state)).returning().get();
    },
    async countOpen(now) {
      return db.select({ n: count() }).from(consoleSignIns).where(gt(consoleSignIns.expiresAt, now)).get()!.n;
    },
    async prune(before) {
      return db.delete(consoleSignIns).where(lt(consoleSignIns.expiresAt, before)).run().changes;
    },
  };
}
