import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/errors.ts';
import type { ServerConfig } from '../config/schema.ts';
import { createPostgresStore } from './postgres/index.ts';
import type { PostgresOptions } from './postgres/open.ts';
import { createSqliteStore } from './sqlite/index.ts';
import type { Store } from './store.ts';

/**
 * The store the configuration names: SQLite in the data directory, or PostgreSQL. Rejects with
 * StoreUnavailable when PostgreSQL cannot be reached, and ConfigError for a CA file it cannot read.
 */
export async function openStore(config: Pick<ServerConfig, 'dataDir' | 'store'>): Promise<Store> {
  const { store } = config;
  if (store.driver === 'sqlite') return createSqliteStore(join(config.dataDir, 'trellis.db'));
  if (store.tls.ca !== undefined) {
    try {
      accessSync(store.tls.ca, constants.R_OK);
    } catch (err) {
      throw new ConfigError('config.invalid', `store.tls.ca: cannot read ${store.tls.ca}`, { cause: err });
    }
  }
  return createPostgresStore(postgresOptionsOf(store));
}

/** How to reach PostgreSQL, as `store.*` says (also for the connections outside the pool: leadership). */
export function postgresOptionsOf(store: ServerConfig['store']): PostgresOptions {
  return {
    ...(store.url !== undefined && { url: store.url }),
    ...(store.tls.mode !== 'disable' && {
      tls: { mode: store.tls.mode, ...(store.tls.ca !== undefined && { ca: store.tls.ca }) },
    }),
    poolSize: store.poolSize,
    connectTimeoutMs: store.connectTimeoutMs,
  };
}
