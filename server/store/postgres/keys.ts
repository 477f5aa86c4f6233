import { and, eq, isNull } from 'drizzle-orm';
import type { ApiKeyRecord, ApiScope, PreAuthKeyRecord } from '../records.ts';
import type { ApiKeyRepository, PreAuthKeyRepository } from '../store.ts';
import { orUndefined } from '../rows.ts';
import { checkStorableTimes } from '../times.ts';
import type { PgDb } from './open.ts';
import { apiKeys, preAuthKeys } from './schema.ts';

export function postgresPreAuthKeys(db: PgDb): PreAuthKeyRepository {
  const toRecord = (row: typeof preAuthKeys.$inferSelect): PreAuthKeyRecord => ({
    ...row,
    userId: orUndefined(row.userId),
    revokedAt: orUndefined(row.revokedAt),
  });
  return {
    async list() {
      return (await db.select().from(preAuthKeys).orderBy(preAuthKeys.createdAt, preAuthKeys.id)).map(toRecord);
    },
    async get(id) {
      const [row] = await db.select().from(preAuthKeys).where(eq(preAuthKeys.id, id));
      return row && toRecord(row);
    },
    async create(key) {
      checkStorableTimes(key, ['expiresAt', 'revokedAt', 'createdAt']);
      await db.insert(preAuthKeys).values(key);
    },
    async revoke(id, now) {
      checkStorableTimes({ now }, ['now']);
      const revoked = await db
        .update(preAuthKeys)
        .set({ revokedAt: now })
        .where(and(eq(preAuthKeys.id, id), isNull(preAuthKeys.revokedAt)))
        .returning({ id: preAuthKeys.id });
      return revoked.length > 0;
    },
  };
}

export function postgresApiKeys(db: PgDb): ApiKeyRepository {
  const toRecord = (row: typeof apiKeys.$inferSelect): ApiKeyRecord => ({
    ...row,
    scopes: row.scopes as ApiScope[],
    expiresAt: orUndefined(row.expiresAt),
    lastUsedAt: orUndefined(row.lastUsedAt),
    revokedAt: orUndefined(row.revokedAt),
  });
  return {
    async list() {
      return (await db.select().from(apiKeys).orderBy(apiKeys.createdAt, apiKeys.id)).map(toRecord);
    },
    async get(id) {
      const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id));
      return row && toRecord(row);
    },
    async create(key) {
      checkStorableTimes(key, ['expiresAt', 'lastUsedAt', 'revokedAt', 'createdAt']);
      await db.insert(apiKeys).values(key);
    },
    async revoke(id, now) {
      checkStorableTimes({ now }, ['now']);
      const revoked = await db
        .update(apiKeys)
        .set({ revokedAt: now })
        .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
        .returning({ id: apiKeys.id });
      return revoked.length > 0;
    },
    async touch(id, now) {
      checkStorableTimes({ now }, ['now']);
      await db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, id));
    },
  };
}
