import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main } from '../../../server/cli/main.ts';
import { createPostgresStore } from '../../../server/store/postgres/index.ts';
import { createSqliteStore } from '../../../server/store/sqlite/index.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';
import { describeWith, hasPostgres } from '../../support/prerequisites.ts';
import { startTestServer, TestAgent } from '../../support/server.ts';

const POLICY = JSON.stringify({ acls: [{ action: 'accept', src: ['*'], dst: ['*:*'] }] });

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out, err };
}

describeWith([hasPostgres()], 'trellis-server migrate: SQLite to PostgreSQL', () => {
  let postgres: TestPostgres;
  const dataDir = mkdtempSync(join(tmpdir(), 'trellis-migrate-'));
  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('moves a running deployment: nodes joined before keep their identity and get their maps, nothing re-joins', async () => {
    // A deployment on SQLite: two nodes, a policy of its own, audit events.
    const before = await startTestServer({}, dataDir);
    const a = new TestAgent(before.url, 'alpha');
    const b = new TestAgent(before.url, 'beta');
    await a.join(await before.preAuthKey());
    await b.join(await before.preAuthKey());
    await before.setPolicy(POLICY);
    const nodes = await before.server.store.nodes.list();
    const policies = await before.server.store.policies.list();
    const audit = await before.server.store.audit.list({ limit: 1000 });
    const authorities = await before.server.store.authorities.list();
    await before.stop();

    const url = await postgres.database();
    const copied = await run('migrate', '--from', join(dataDir, 'trellis.db'), '--to', url);
    expect(copied.err).toEqual([]);
    expect(copied.code).toBe(0);
    expect(copied.out[0]).toMatch(/nodes 2/);

    // The same data directory (its relay key), the state now on PostgreSQL.
    const after = await startTestServer({ store: { driver: 'postgres', url } }, dataDir);
    try {
      const store = after.server.store;
      expect(store.driver).toBe('postgres');
      expect(await store.nodes.list()).toEqual(nodes);
      expect(await store.policies.list()).toEqual(policies);
      expect(await store.authorities.list()).toEqual(authorities);
      expect((await store.audit.list({ limit: 1000 })).slice(-audit.length)).toEqual(audit);

      // The agents come back with the machine keys they had, and no credential.
      const a2 = new TestAgent(after.url, 'alpha', a.machine).connect();
      const b2 = new TestAgent(after.url, 'beta', b.machine).connect();
      try {
        await a2.until((x) => x.peerNames().includes('beta'), 'beta in the map from PostgreSQL');
        await b2.until((x) => x.peerNames().includes('alpha'), 'alpha in the map from PostgreSQL');
        expect(a2.map.self!.addresses).toEqual(a.node!.addresses);
        expect(a2.map.self!.id).toBe(a.node!.id);
        // A new join continues after the copied addresses, and the audit after the copied events.
        const c = new TestAgent(after.url, 'gamma');
        const joined = await c.join(await after.preAuthKey());
        expect(nodes.map((n) => n.ipv4)).not.toContain(joined.addresses[0]?.split('/')[0]);
        expect((await store.audit.list({ limit: 1 }))[0]!.id).toBeGreaterThan(audit[0]!.id);
      } finally {
        a2.stop();
        b2.stop();
      }
    } finally {
      await after.stop();
    }
  }, 60_000);

  it('refuses a target that already holds a deployment unless told to replace it', async () => {
    const file = join(dataDir, 'small', 'trellis.db');
    const sqlite = createSqliteStore(file);
    await sqlite.users.upsert({ subject: 'local:x', email: 'x@example.com', displayName: 'x', groups: [] }, 1);
    await sqlite.close();
    const url = await postgres.database();
    const target = await createPostgresStore({ url, poolSize: 1 });
    await target.users.upsert({ subject: 'local:y', email: 'y@example.com', displayName: 'y', groups: [] }, 1);

    const refused = await run('migrate', '--from', file, '--to', url);
    expect(refused.code).toBe(1);
    expect(refused.err.join('\n')).toMatch(/already holds users.*--replace.*\[store\.target_not_empty\]/);
    expect((await target.users.list()).map((u) => u.email)).toEqual(['y@example.com']);

    expect((await run('migrate', '--from', file, '--to', url, '--replace')).code).toBe(0);
    expect((await target.users.list()).map((u) => u.email)).toEqual(['x@example.com']);
    await target.close();
  });

  it('refuses a source that is not there, naming the flag', async () => {
    const missing = await run('migrate', '--from', join(dataDir, 'none.db'), '--to', postgres.url);
    expect(missing.code).toBe(1);
    expect(missing.err.join('\n')).toMatch(/--from: no SQLite database/);
  });
});
