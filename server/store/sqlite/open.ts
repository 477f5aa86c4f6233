import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { MIGRATIONS } from './migrations.ts';
import * as schema from './schema.ts';

export type SqliteDb = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/** Opens (creating if needed) the database file, or `:memory:`, and migrates it. */
export function openSqlite(file: string): SqliteDb {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  migrate(sqlite);
  return drizzle(sqlite, { schema }) as SqliteDb;
}

function migrate(sqlite: Database.Database): void {
  sqlite.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
  );
  const row = sqlite.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  const applied = row.v ?? 0;
  if (applied > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${applied} is newer than this server (${MIGRATIONS.length}); upgrade the server`,
    );
  }
  MIGRATIONS.slice(applied).forEach((migration, i) => {
    sqlite.transaction(() => {
      if (typeof migration === 'string') sqlite.exec(migration);
      else migration(sqlite, Date.now());
      sqlite
        .prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)')
        .run(applied + i + 1, Date.now());
    })();
  });
}
