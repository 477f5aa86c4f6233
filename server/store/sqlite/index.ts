import type { Store } from '../store.ts';
import { sqliteAudit } from './audit.ts';
import { sqliteAuthorities } from './authorities.ts';
import { sqliteChanges } from './changes.ts';
import { sqliteConsoleSessions } from './console-sessions.ts';
import { sqliteLoginSessions } from './login-sessions.ts';
import { sqliteConsoleSignIns } from './console-sign-ins.ts';
import { sqliteProofNonces } from './proof-nonces.ts';
import { sqliteServerKeys } from './server-keys.ts';
import { sqliteApiKeys, sqlitePreAuthKeys } from './keys.ts';
import { sqliteNodes } from './nodes.ts';
import { openSqlite } from './open.ts';
import { sqlitePolicies } from './policies.ts';
import { sqlitePresence, sqliteReplicas } from './replicas.ts';
import { sqliteRoutePrimaries } from './route-primaries.ts';
import { sqliteUsers } from './users.ts';

/** The embedded default store: one SQLite file (or `:memory:` for tests). */
export function createSqliteStore(file: string): Store {
  const db = openSqlite(file);
  const changes = sqliteChanges(db);
  return {
    users: sqliteUsers(db, changes.record),
    nodes: sqliteNodes(db, changes.record),
    preAuthKeys: sqlitePreAuthKeys(db),
    apiKeys: sqliteApiKeys(db),
    policies: sqlitePolicies(db, changes.record),
    audit: sqliteAudit(db),
    authorities: sqliteAuthorities(db, changes.record),
    consoleSessions: sqliteConsoleSessions(db),
    loginSessions: sqliteLoginSessions(db),
    consoleSignIns: sqliteConsoleSignIns(db),
    proofNonces: sqliteProofNonces(db),
    serverKeys: sqliteServerKeys(db),
    replicas: sqliteReplicas(db, changes.record),
    presence: sqlitePresence(db, changes.record),
    routePrimaries: sqliteRoutePrimaries(db, changes.record),
    changes: changes.log,
    driver: 'sqlite',
    async ping() {
      db.$client.prepare('SELECT 1').get();
    },
    async close() {
      db.$client.close();
    },
  };
}
