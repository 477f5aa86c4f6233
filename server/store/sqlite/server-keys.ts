import { eq } from 'drizzle-orm';
import type { ServerKeyRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { SqliteDb } from './open.ts';
import { serverKeys } from './schema.ts';

export function sqliteServerKeys(db: SqliteDb): ServerKeyRepository {
  return {
    async addFirst(name, privateKey, now) {
      checkStorableTimes({ now }, ['now']);
      db.insert(serverKeys).values({ name, privateKey, createdAt: now }).onConflictDoNothing().run();
      return db.select().from(serverKeys).where(eq(serverKeys.name, name)).get()!.privateKey;
    },
  };
}
