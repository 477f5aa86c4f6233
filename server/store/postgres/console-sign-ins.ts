import { count, eq, gt, lt } from 'drizzle-orm';
import type { ConsoleSignInRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { PgDb } from './open.ts';
import { consoleSignIns } from './schema.ts';

export function postgresConsoleSignIns(db: PgDb): ConsoleSignInRepository {
  return {
    async create(signIn) {
      checkStorableTimes(signIn, ['createdAt', 'expiresAt']);
      await db.insert(consoleSignIns).values(signIn);
    },
    async take(state) {
      // One statement: of two replicas taking the same state at once, the second finds none.
      const [row] = await db.delete(consoleSignIns).where(eq(consoleSignIns.state, state)).returning();
      return row;
    },
    async countOpen(now) {
      const [row] = await db.select({ n: count() }).from(consoleSignIns).where(gt(consoleSignIns.expiresAt, now));
      return row!.n;
    },
    async prune(before) {
      return (await db.delete(consoleSignIns).where(lt(consoleSignIns.expiresAt, before))).rowCount ?? 0;
    },
  };
}
