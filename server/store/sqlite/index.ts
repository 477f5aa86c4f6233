import type { Store } from '../store.ts';
import { sqliteAudit } from './audit.ts';
import { sqliteAuthorities } from './authorities.ts';
import { sqliteConsoleSessions } from './console-sessions.ts';
import { sqliteApiKeys, sqlitePreAuthKeys } from './keys.ts';
import { sqliteNodes } from './nodes.ts';
import { openSqlite } from './open.ts';
import { sqlitePolicies } from './policies.ts';
import { sqlitePresence, sqliteReplicas } from './replicas.ts';
import { sqliteUsers } from './users.ts';

/** The embedded default store: one SQLite file (or `:memory:` for tests). */
export function createSqliteStore(file: string): Store {
  const db = openSqlite(file);
  return {
    users: sqliteUsers(db),
    nodes: sqliteNodes(db),
    preAuthKeys: sqlitePreAuthKeys(db),
    apiKeys: sqliteApiKeys(db),
    policies: sqlitePolicies(db),
    audit: sqliteAudit(db),
    authorities: sqliteAuthorities(db),
    consoleSessions: sqliteConsoleSessions(db),
    replicas: sqliteReplicas(db),
    presence: sqlitePresence(db),
    async close() {
      db.$client.close();
    },
  };
}
