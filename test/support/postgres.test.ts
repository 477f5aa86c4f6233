import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from './postgres.ts';
import { describeWith, hasPostgres } from './prerequisites.ts';

async function query(url: string, text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

describeWith([hasPostgres()], 'a throwaway PostgreSQL for tests', () => {
  let postgres: TestPostgres;
  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(() => postgres?.stop(), 60_000);

  it('accepts connections on loopback and on its own socket, with fsync off, not as root', async () => {
    expect(await query(postgres.url, 'SHOW fsync')).toEqual([{ fsync: 'off' }]);
    const viaSocket = `postgresql://trellis@/postgres?host=${encodeURIComponent(postgres.socketDir)}&port=${postgres.port}`;
    expect(await query(viaSocket, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    const [owner] = (await query(postgres.url, 'SHOW data_directory')) as Array<{ data_directory: string }>;
    expect(owner!.data_directory.startsWith(postgres.socketDir)).toBe(true);
  });

  it('gives each caller a new empty database', async () => {
    const a = await postgres.database();
    const b = await postgres.database();
    expect(a).not.toBe(b);
    await query(a, 'CREATE TABLE t (x int)');
    expect(await query(b, "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 't'")).toEqual([{ n: 0 }]);
  });

  it('keeps committed data across a restart and across a kill and restart', async () => {
    const db = await postgres.database();
    await query(db, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)');
    await postgres.restart();
    expect(await query(db, 'SELECT x FROM kept')).toEqual([{ x: 1 }]);
    await query(db, 'INSERT INTO kept VALUES (2)');
    await postgres.kill();
    await expect(query(db, 'SELECT 1')).rejects.toThrow();
    await postgres.restart();
    expect(await query(db, 'SELECT x FROM kept ORDER BY x')).toEqual([{ x: 1 }, { x: 2 }]);
  }, 60_000);
});
