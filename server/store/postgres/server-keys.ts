import { eq } from 'drizzle-orm';
import type { ServerKeyRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { PgDb } from './open.ts';
import { serverKeys } from './schema.ts';

export function postgresServerKeys(db: PgDb): ServerKeyRepository {
  return {
    async addFirst(name, privateKey, now) {
      checkStorableTimes({ now }, ['now']);
      // The first insert wins; one that waited on it does nothing and reads the winner's key.
      await db.insert(serverKeys).values({ name, privateKey, createdAt: now }).onConflictDoNothing();
      const [row] = await db.select().from(serverKeys).where(eq(serverKeys.name, name));
      return row!.privateKey;
    },
  };
}
