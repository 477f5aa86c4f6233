import { readFileSync } from 'node:fs';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { LOCKS } from './locks.ts';
import { MIGRATIONS } from './migrations.ts';
import * as schema from './schema.ts';

export type PgDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };
export type PgTx = Parameters<Parameters<PgDb['transaction']>[0]>[0];

/** How to reach the database (config `store.*`, server/config/store-schema.ts). */
export interface PostgresOptions {
  /** A `postgresql://` URL; without one, the libpq environment variables (PGHOST, PGUSER, ...). */
  url?: string;
  tls?: {
    /** require: encrypted, the server's certificate not checked; verify-full: checked against `ca` and the host name. */
    mode: 'require' | 'verify-full';
    /** PEM file of the CA that signed the server's certificate (verify-full; default: the system's). */
    ca?: string;
  };
  poolSize: number;
  /** How long a request waits for a connection before the database counts as unreachable. */
  connectTimeoutMs?: number;
}

/** node-postgres's settings for these options; the listener's own client uses them too. */
export function clientConfig(options: PostgresOptions): pg.ClientConfig {
  const ssl =
    options.tls &&
    (options.tls.mode === 'require'
      ? { rejectUnauthorized: false }
      : { rejectUnauthorized: true, ...(options.tls.ca && { ca: readFileSync(options.tls.ca, 'utf8') }) });
  return {
    ...(options.url && { connectionString: options.url }),
    ...(ssl && { ssl }),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    application_name: 'trellis-server',
  };
}

/** A pool on the database, migrated. Idle connections that die are dropped, never thrown. */
export async function openPostgres(options: PostgresOptions): Promise<PgDb> {
  const pool = new pg.Pool({ ...clientConfig(options), max: options.poolSize, idleTimeoutMillis: 30_000 });
  // An idle client's error (the server restarted) is emitted here; unhandled it would end the process.
  pool.on('error', () => undefined);
  // A checked-out client's (its connection cut between two queries of a transaction) is emitted
  // on the client itself; the query that follows fails and the pool drops it on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return drizzle(pool, { schema }) as PgDb;
}

async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [...LOCKS.migrate]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
    );
    const { rows } = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    const applied = rows[0]?.v ?? 0;
    if (applied > MIGRATIONS.length) {
      throw new Error(
        `database schema version ${applied} is newer than this server (${MIGRATIONS.length}); upgrade the server`,
      );
    }
    for (const [i, migration] of MIGRATIONS.slice(applied).entries()) {
      await client.query('BEGIN');
      try {
        await client.query(migration);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
          applied + i + 1,
          Date.now(),
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1, $2)', [...LOCKS.migrate]).catch(() => undefined);
    client.release();
  }
}
