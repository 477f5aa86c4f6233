import { existsSync } from 'node:fs';
import pg from 'pg';
import { ConfigError } from '../../config/errors.ts';
import { createPostgresStore, type PostgresOptions } from '../postgres/index.ts';
import { clientConfig } from '../postgres/open.ts';
import { openSqlite } from '../sqlite/open.ts';
import { StoreConflict } from '../store.ts';

/**
 * The tables a deployment's state is in, parents before children (foreign keys). Soft state
 * (replicas, presence, route primaries), the change log, sign-ins in progress and used proof nonces are not
 * copied: they describe running processes or last minutes, and a replica starting on the copy
 * loads everything anyway.
 */
export const COPIED_TABLES = [
  'users',
  'nodes',
  'preauth_keys',
  'api_keys',
  'policies',
  'counters',
  'audit_events',
  'certificate_authorities',
  'console_sessions',
  // The relay's key: nodes keep their relay peer across the move.
  'server_keys',
] as const;

/** Tables whose ids come from a sequence there: after the copy it continues past the copied ids. */
const SEQUENCES: Record<string, string> = { audit_events: 'id' };

export interface CopyResult {
  /** Rows copied, by table. */
  rows: Record<string, number>;
}

/**
 * Copies a SQLite deployment into PostgreSQL as it is: ids, keys, addresses, the address
 * counter, policy versions, audit events and the CA, so every node keeps its identity and
 * needs no new join. In one transaction: a failed copy leaves the target as it was. Refuses a
 * target that holds any state unless `replace`, which empties it first.
 */
export async function copySqliteToPostgres(
  from: string,
  to: PostgresOptions,
  options: { replace?: boolean } = {},
): Promise<CopyResult> {
  if (!existsSync(from)) throw new ConfigError('config.invalid', `--from: no SQLite database at ${from}`);
  // Opening migrates both to this server's schema, so their columns match (a test keeps them in step).
  const source = openSqlite(from).$client;
  const target = await createPostgresStore(to);
  await target.close();
  const client = new pg.Client(clientConfig(to));
  await client.connect();
  try {
    await client.query('BEGIN');
    const held = await heldTables(client);
    if (held.length > 0 && !options.replace) {
      throw new StoreConflict(
        'store.target_not_empty',
        `the target database already holds ${held.join(', ')}; give --replace to empty it first`,
      );
    }
    if (held.length > 0 || options.replace) {
      await client.query(
        `TRUNCATE ${[...COPIED_TABLES, 'presence', 'replicas', 'route_primaries', 'changes'].join(', ')} CASCADE`,
      );
    }
    const rows: Record<string, number> = {};
    for (const table of COPIED_TABLES) rows[table] = await copyTable(source, client, table);
    for (const [table, column] of Object.entries(SEQUENCES)) {
      await client.query(
        `SELECT setval(pg_get_serial_sequence('${table}', '${column}'), GREATEST((SELECT MAX(${column}) FROM ${table}), 1), (SELECT MAX(${column}) FROM ${table}) IS NOT NULL)`,
      );
    }
    await client.query('COMMIT');
    return { rows };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
    source.close();
  }
}

async function heldTables(client: pg.Client): Promise<string[]> {
  const held: string[] = [];
  for (const table of COPIED_TABLES) {
    const { rows } = await client.query(`SELECT EXISTS (SELECT 1 FROM ${table}) AS held`);
    if (rows[0].held) held.push(table);
  }
  return held;
}

/** One table's rows, converted by the target column's type: SQLite's 0/1 become booleans, JSON text jsonb. */
async function copyTable(source: import('better-sqlite3').Database, client: pg.Client, table: string): Promise<number> {
  const { rows: columns } = await client.query<{ name: string; type: string }>(
    `SELECT column_name AS name, data_type AS type FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  const names = columns.map((c) => c.name);
  const insert = `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`;
  let count = 0;
  for (const row of source.prepare(`SELECT ${names.join(', ')} FROM ${table}`).iterate() as Iterable<
    Record<string, unknown>
  >) {
    const values = columns.map(({ name, type }) => {
      const v = row[name];
      if (v === null || v === undefined) return null;
      if (type === 'boolean') return v === 1 || v === true;
      return v;
    });
    await client.query(insert, values);
    count++;
  }
  return count;
}
