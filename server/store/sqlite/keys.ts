import { and, eq, isNull } from 'drizzle-orm';
import type { ApiKeyRecord, ApiScope, PreAuthKeyRecord } from '../records.ts';
import type { ApiKeyRepository, PreAuthKeyRepository } from '../store.ts';
import type { SqliteDb } from './open.ts';
import { checkStorableTimes } from '../times.ts';
import { orUndefined } from '../rows.ts';
import { apiKeys, preAuthKeys } from './schema.ts';

export function sqlitePreAuthKeys(db: SqliteDb): PreAuthKeyRepository {
  const toRecord = (row: typeof preAuthKeys.$inferSelect): PreAuthKeyRecord => ({
    ...row,
    userId: orUndefined(row.userId),
    revokedAt: orUndefined(row.revokedAt),
  });
  return {
    async list() {
      return db.select().from(preAuthKeys).orderBy(preAuthKeys.createdAt).all().map(toRecord);
    },
    async get(id) {
      const row = db.select().from(preAuthKeys).where(eq(preAuthKeys.id, id)).get();
      return row && toRecord(row);
    },
    async create(key) {
      checkStorableTimes(key, ['expiresAt', 'revokedAt', 'createdAt']);
      db.insert(preAuthKeys).values(key).run();
    },
    async revoke(id, now) {
      checkStorableTimes({ now }, ['now']);
      return (
        db
          .update(preAuthKeys)
          .set({ revokedAt: now })
          .where(and(eq(preAuthKeys.id, id), isNull(preAuthKeys.revokedAt)))
          .run().changes > 0
      );
    },
  };
}

export function sqliteApiKeys(db: SqliteDb): ApiKeyRepository {
  const toRecord = (row: typeof apiKeys.$inferSelect): ApiKeyRecord => ({
    ...row,
    scopes: row.scopes as ApiScope[],
    expiresAt: orUndefined(row.expiresAt),
    lastUsedAt: orUndefined(row.lastUsedAt),
    revokedAt: orUndefined(row.revokedAt),
  });
  return {
    async list() {
      return db.select().from(apiKeys).orderBy(apiKeys.createdAt).all().map(toRecord);
    },
    async get(id) {
      const row = db.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
      return row && toRecord(row);
    },
    async create(key) {
      checkStorableTimes(key, ['expiresAt', 'lastUsedAt', 'revokedAt', 'createdAt']);
      db.insert(apiKeys).values(key).run();
    },
    async revoke(id, now) {
      checkStorableTimes({ now }, ['now']);
      return (
        db
          .update(apiKeys)
          .set({ revokedAt: now })
          .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
          .run().changes > 0
      );
    },
    async touch(id, now) {
      checkStorableTimes({ now }, ['now']);
      db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, id)).run();
    },
  };
}
