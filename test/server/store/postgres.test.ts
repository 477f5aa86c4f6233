import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressPlan } from '../../../server/nodes/addresses.ts';
import { createPostgresStore } from '../../../server/store/postgres/index.ts';
import { openSqlite } from '../../../server/store/sqlite/open.ts';
import { StoreUnavailable, type NodeDraft, type Store } from '../../../server/store/store.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';
import { describeWith, hasPostgres } from '../../support/prerequisites.ts';
import { runStoreCases } from './store.cases.ts';

describeWith([hasPostgres()], 'PostgreSQL store', () => {
  let postgres: TestPostgres;
  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(() => postgres?.stop(), 60_000);

  const open = async (url: string) => createPostgresStore({ url, poolSize: 10 });
  runStoreCases('PostgreSQL', async () => open(await postgres.database()));

  const plan = addressPlan('100.64.0.0/10', 'fd7a:115c:a1e0::/48');
  const addressFor = (i: number) => plan.addressFor(i);
  const draft = (name: string): NodeDraft => ({
    id: `n-${randomBytes(8).toString('hex')}`,
    name,
    machineKey: randomBytes(32).toString('base64'),
    wireguardKey: randomBytes(32).toString('base64'),
    tags: ['tag:server'],
    endpoints: [],
    advertisedRoutes: [],
    approvedRoutes: [],
    ephemeral: false,
    createdAt: 1_800_000_000_000,
  });

  describe('two servers on one database', () => {
    let url: string;
    let a: Store;
    let b: Store;
    beforeAll(async () => {
      url = await postgres.database();
      // Opened at once: the second waits for the first's migration instead of running it again.
      [a, b] = await Promise.all([open(url), open(url)]);
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('gives unique addresses and names to concurrent joins through both', async () => {
      const created = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).nodes.create(draft('web'), { addressFor })),
      );
      const names = new Set(created.map((n) => n.name));
      expect(names.size).toBe(40);
      expect(names).toEqual(new Set(['web', ...Array.from({ length: 39 }, (_, i) => `web-${i + 2}`)]));
      expect(new Set(created.map((n) => n.ipv4)).size).toBe(40);
      expect(new Set(created.map((n) => n.ipv6)).size).toBe(40);
      expect((await a.nodes.list()).length).toBe(40);
      const logged = await b.changes.since(0, 1000);
      expect(
        logged
          .filter((c) => c.kind === 'node')
          .map((c) => c.id)
          .sort(),
      ).toEqual(created.map((n) => n.id).sort());
    });

    it('starts one CA rotation of two started through both at once, and writes its lapse down once', async () => {
      const ca = (id: string, createdAt: number) => ({
        id,
        certificate: `cert ${id}`,
        privateKey: `key ${id}`,
        notAfter: 1_900_000_000_000,
        createdAt,
      });
      const t0 = 1_800_000_000_000;
      await a.authorities.addFirst(ca('ca-first', t0));
      const started = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).authorities.startRotation(ca(`ca-${i}`, t0 + 1000), false)),
      );
      expect(started.filter(Boolean)).toHaveLength(1);
      const winner = `ca-${started.indexOf(true)}`;
      expect((await b.authorities.list()).filter((x) => x.rotating).map((x) => x.id)).toEqual([winner]);
      const event = {
        at: t0 + 2000,
        kind: 'pki.rotation' as const,
        outcome: 'success' as const,
        actor: 'system',
        code: 'pki.grace_lapsed',
        message: `${winner} signs`,
      };
      const closed = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).authorities.closeLapsedRotation(winner, event)),
      );
      expect(closed.filter(Boolean)).toHaveLength(1);
      expect((await a.audit.list({ kind: 'pki.rotation', limit: 10 })).map((e) => e.message)).toEqual([
        `${winner} signs`,
      ]);
    });

    it('retries a join that lost its name to a rename on the other server, instead of failing it', async () => {
      const others = await Promise.all(
        Array.from({ length: 20 }, (_, i) => a.nodes.create(draft(`r${i}`), { addressFor })),
      );
      const results = await Promise.allSettled([
        ...Array.from({ length: 20 }, () => a.nodes.create(draft('api'), { addressFor })),
        // Renames to the names the joins will pick: some take a name a join read as free.
        ...others.map((n, i) => b.nodes.update(n.id, { name: i === 0 ? 'api' : `api-${i + 1}` })),
      ]);
      const joins = results.slice(0, 20);
      expect(joins.filter((r) => r.status === 'rejected')).toEqual([]);
      const names = (await a.nodes.list()).map((n) => n.name);
      expect(new Set(names).size).toBe(names.length);
    });

    it("hints one server of the other's change, through NOTIFY", async () => {
      const hints: number[] = [];
      const stop = a.changes.watch((seq) => hints.push(seq));
      try {
        await until(() => hints.length > 0); // the hint a new listener gives once it listens
        const node = await b.nodes.create(draft('hinted'), { addressFor });
        const seq = await b.changes.head();
        await until(() => hints.includes(seq));
        expect((await a.changes.since(seq - 1, 1))[0]).toMatchObject({ seq, kind: 'node', id: node.id });
      } finally {
        stop();
      }
    });

    it('hands out seqs in commit order however the writers interleave', async () => {
      const head = await a.changes.head();
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (i % 2 ? a : b).policies.append({ text: `{}`, author: `w${i}`, starter: false, createdAt: 1 }),
        ),
      );
      const logged = await a.changes.since(head, 100);
      expect(logged.map((c) => Number(c.id))).toEqual([...logged.map((c) => Number(c.id))].sort((x, y) => x - y));
      expect(logged.length).toBe(30);
    });
  });

  it('has the tables and columns SQLite has: the two drivers migrate in step', async () => {
    // The SQLite schema as its migrations leave it.
    const db = openSqlite(':memory:');
    const tables = db.$client
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all() as Array<{ name: string }>;
    const sqliteColumns = tables.flatMap(({ name }) =>
      (db.$client.prepare(`PRAGMA table_info(${name})`).all() as Array<{ name: string }>).map(
        (c) => `${name}.${c.name}`,
      ),
    );
    db.$client.close();

    const url = await postgres.database();
    const store = await open(url);
    await store.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ c: string }>(
      `SELECT table_name || '.' || column_name AS c FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    await client.end();
    expect(rows.map((r) => r.c).sort()).toEqual(sqliteColumns.sort());
  });

  describe('when the database goes away', () => {
    it('answers StoreUnavailable (never a crash), hints again after a reconnect, and works once it is back', async () => {
      const store = await open(await postgres.database());
      const hints: number[] = [];
      const stop = store.changes.watch((seq) => hints.push(seq));
      try {
        await until(() => hints.length > 0);
        await postgres.kill();
        for (const call of [() => store.nodes.list(), () => store.ping(), () => store.changes.head()]) {
          const err = await call().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(StoreUnavailable);
          expect((err as StoreUnavailable).code).toBe('store.unavailable');
          expect((err as StoreUnavailable).message).not.toMatch(/select|ECONN/i);
        }
        const before = hints.length;
        await postgres.restart();
        await until(() => hints.length > before); // the listener reconnected by itself
        await expect(store.ping()).resolves.toBeUndefined();
        expect(await store.nodes.list()).toEqual([]);
      } finally {
        stop();
        await store.close();
      }
    }, 60_000);

    it('refuses to open on a database that cannot be reached, with StoreUnavailable', async () => {
      const err = await createPostgresStore({
        url: 'postgresql://trellis@127.0.0.1:1/none',
        poolSize: 1,
        connectTimeoutMs: 1_000,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreUnavailable);
    });
  });
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}
