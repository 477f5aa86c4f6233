import { sql } from 'drizzle-orm';
import type { Store } from '../store.ts';
import { postgresAudit } from './audit.ts';
import { postgresAuthorities } from './authorities.ts';
import { postgresChanges } from './changes.ts';
import { postgresConsoleSessions } from './console-sessions.ts';
import { postgresLoginSessions } from './login-sessions.ts';
import { postgresConsoleSignIns } from './console-sign-ins.ts';
import { postgresProofNonces } from './proof-nonces.ts';
import { postgresServerKeys } from './server-keys.ts';
import { guarded, storeError } from './errors.ts';
import { postgresApiKeys, postgresPreAuthKeys } from './keys.ts';
import { postgresNodes } from './nodes.ts';
import { clientConfig, openPostgres, type PostgresOptions } from './open.ts';
import { postgresPolicies } from './policies.ts';
import { postgresPresence, postgresReplicas } from './replicas.ts';
import { postgresRoutePrimaries } from './route-primaries.ts';
import { postgresUsers } from './users.ts';

export type { PostgresOptions } from './open.ts';

/**
 * The store on PostgreSQL, for several replicas on one database. Opens a pool and migrates;
 * rejects with StoreUnavailable when the database cannot be reached.
 */
export async function createPostgresStore(options: PostgresOptions): Promise<Store> {
  let db;
  try {
    db = await openPostgres(options);
  } catch (err) {
    throw storeError(err);
  }
  const changes = postgresChanges(db, clientConfig(options));
  const pool = db.$client;
  return {
    users: guarded(postgresUsers(db)),
    nodes: guarded(postgresNodes(db)),
    preAuthKeys: guarded(postgresPreAuthKeys(db)),
    apiKeys: guarded(postgresApiKeys(db)),
    policies: guarded(postgresPolicies(db)),
    audit: guarded(postgresAudit(db)),
    authorities: guarded(postgresAuthorities(db)),
    consoleSessions: guarded(postgresConsoleSessions(db)),
    loginSessions: guarded(postgresLoginSessions(db)),
    consoleSignIns: guarded(postgresConsoleSignIns(db)),
    proofNonces: guarded(postgresProofNonces(db)),
    serverKeys: guarded(postgresServerKeys(db)),
    replicas: guarded(postgresReplicas(db)),
    presence: guarded(postgresPresence(db)),
    routePrimaries: guarded(postgresRoutePrimaries(db)),
    changes,
    driver: 'postgres',
    ping: guarded({
      async ping() {
        await db.execute(sql`SELECT 1`);
      },
    }).ping,
    async close() {
      await changes.close();
      await pool.end();
    },
  };
}
