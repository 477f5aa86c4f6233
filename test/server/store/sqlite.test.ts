import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateMachineKey } from '../../../client/control/machine-key.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import { MachineKey, WireGuardKey } from '../../../protocol/keys.ts';
import { addressPlan } from '../../../server/nodes/addresses.ts';
import { createSqliteStore } from '../../../server/store/sqlite/index.ts';
import { MIGRATIONS } from '../../../server/store/sqlite/migrations.ts';
import { openSqlite } from '../../../server/store/sqlite/open.ts';
import { StoreConflict, type NodeDraft, type Store } from '../../../server/store/store.ts';
import { LOW_ORDER_X25519, SMALL_ORDER_ED25519, respelled } from '../../support/keys.ts';
import { runStoreCases } from './store.cases.ts';

const tempRoot = mkdtempSync(join(tmpdir(), 'trellis-sqlite-'));
afterAll(() => rmSync(tempRoot, { recursive: true, force: true }));
let fileCount = 0;
const tempFile = () => join(tempRoot, `db-${++fileCount}`, 'trellis.db');

runStoreCases('SQLite in memory', async () => createSqliteStore(':memory:'));
runStoreCases('SQLite file', async () => createSqliteStore(tempFile()));

describe('SQLite store on disk', () => {
  const plan = addressPlan('100.64.0.0/10', 'fd7a:115c:a1e0::/48');
  const addressFor = (i: number) => plan.addressFor(i);
  const key32 = () => randomBytes(32).toString('base64');
  const draft = (name: string, over: Partial<NodeDraft> = {}): NodeDraft => ({
    id: `n-${name}`,
    name,
    machineKey: key32(),
    wireguardKey: key32(),
    tags: [],
    endpoints: [],
    advertisedRoutes: [],
    approvedRoutes: [],
    ephemeral: false,
    createdAt: 1,
    ...over,
  });

  let file: string;
  let store: Store | undefined;
  beforeEach(() => {
    file = tempFile();
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it('creates the data directory when it does not exist', async () => {
    store = createSqliteStore(file);
    expect(await store.users.list()).toEqual([]);
  });

  it('keeps everything across a restart', async () => {
    store = createSqliteStore(file);
    const alice = (
      await store.users.upsert(
        { subject: 'local:alice', email: 'alice@example.com', displayName: 'Alice', groups: ['eng'] },
        10,
      )
    ).record;
    const key = {
      id: 'k1',
      secretHash: 'ab'.repeat(32),
      userId: alice.id,
      reusable: true,
      ephemeral: false,
      tags: [],
      usedCount: 0,
      expiresAt: 10_000,
      description: 'd',
      createdAt: 10,
    };
    await store.preAuthKeys.create(key);
    const node = await store.nodes.create(draft('laptop', { userId: alice.id, endpoints: ['192.0.2.1:1'] }), {
      addressFor,
      consumePreAuthKey: { id: 'k1', now: 20 },
    });
    await store.apiKeys.create({
      id: 'a1',
      secretHash: 'cd'.repeat(32),
      scopes: ['read', 'nodes'],
      description: 'ci',
      createdAt: 10,
    });
    const policy = (await store.policies.append({ text: '{}', author: 'me', starter: false, createdAt: 30 })).record;
    await store.close();

    store = createSqliteStore(file);
    expect(await store.users.get(alice.id)).toEqual(alice);
    expect(await store.nodes.get(node.id)).toEqual(node);
    expect(await store.preAuthKeys.get('k1')).toEqual({ ...key, usedCount: 1 });
    expect((await store.apiKeys.get('a1'))?.scopes).toEqual(['read', 'nodes']);
    expect(await store.policies.current()).toEqual(policy);
  });

  it('never reuses an address after a restart, even one whose node was deleted', async () => {
    store = createSqliteStore(file);
    await store.nodes.create(draft('a'), { addressFor });
    const b = await store.nodes.create(draft('b'), { addressFor });
    await store.nodes.delete(b.id);
    await store.close();

    store = createSqliteStore(file);
    const c = await store.nodes.create(draft('c'), { addressFor });
    expect(c.ipv4).toBe('100.64.0.3');
  });

  it('reads a database from before keys were stored as bytes, and repairs what the checks now refuse', async () => {
    // Version 2 of the schema, with rows as the server could write them then.
    mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    for (const [i, sql] of MIGRATIONS.slice(0, 2).entries()) {
      db.exec(sql as string);
      db.prepare('INSERT INTO schema_migrations VALUES (?, 1)').run(i + 1);
    }
    const good = { machine: generateMachineKey().publicKey, wireguard: generateKeyPair().publicKey };
    const insert = db.prepare(
      `INSERT INTO nodes (id, name, machine_key, wireguard_key, ipv4, ipv6, tags, endpoints, advertised_routes,
        approved_routes, ephemeral, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, '[]', '[]', '[]', '[]', 0, ?, ?)`,
    );
    const wellSpelled = generateKeyPair().publicKey;
    const rows: Array<[string, string, string, number | null]> = [
      ['first', good.machine, good.wireguard, null],
      // The same WireGuard key under another spelling: the bug that let two nodes hold one key.
      ['twin', generateMachineKey().publicKey, respelled(good.wireguard), null],
      // A low-order WireGuard key, and an expiry past the JavaScript date range.
      ['low', generateMachineKey().publicKey, LOW_ORDER_X25519[0]!, 1e16],
      // The identity as machine key: anyone could sign as this node.
      ['nobody', SMALL_ORDER_ED25519[0]!, generateKeyPair().publicKey, null],
      // Its own key, only spelled otherwise: the same key, kept.
      ['respelled', generateMachineKey().publicKey, respelled(wellSpelled), null],
    ];
    rows.forEach(([name, machine, wireguard, expires], i) =>
      insert.run(`n-${name}`, name, machine, wireguard, `100.64.0.${i + 1}`, `fd7a::${i + 1}`, expires, 10 + i),
    );
    db.close();

    const before = Date.now();
    store = createSqliteStore(file);
    const nodes = new Map((await store.nodes.list()).map((n) => [n.name, n]));
    expect([...nodes.keys()]).toEqual(rows.map(([name]) => name));
    expect(nodes.get('first')).toMatchObject({ machineKey: good.machine, wireguardKey: good.wireguard });
    expect(nodes.get('first')!.expiresAt).toBeUndefined();
    expect(nodes.get('respelled')).toMatchObject({ wireguardKey: wellSpelled, expiresAt: undefined });
    for (const name of ['twin', 'low', 'nobody']) {
      const n = nodes.get(name)!;
      expect(n.expiresAt, name).toBeGreaterThanOrEqual(before);
      expect(n.expiresAt, name).toBeLessThanOrEqual(Date.now());
      expect(WireGuardKey.safeParse(n.wireguardKey).success, name).toBe(true);
      expect(MachineKey.safeParse(n.machineKey).success, name).toBe(true);
    }
    expect(nodes.get('twin')!.wireguardKey).not.toBe(good.wireguard);
    expect(await store.nodes.getByMachineKey(good.machine)).toEqual(nodes.get('first'));
    await expect(store.nodes.update('n-twin', { wireguardKey: good.wireguard })).rejects.toThrow(StoreConflict);
  });

  it('applies each migration once, however often the store is opened', async () => {
    for (let i = 0; i < 3; i++) await createSqliteStore(file).close();
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{
        version: number;
      }>;
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer server, saying so', async () => {
    await createSqliteStore(file).close();
    const db = new Database(file);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)').run(MIGRATIONS.length + 5);
    db.close();
    expect(() => createSqliteStore(file)).toThrow(/newer than this server/);
  });

  it('runs in WAL mode with foreign keys on', () => {
    const db = openSqlite(file);
    try {
      expect(db.$client.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.$client.pragma('foreign_keys', { simple: true })).toBe(1);
    } finally {
      db.$client.close();
    }
    // journal_mode is a property of the file: a plain connection sees it too.
    const plain = new Database(file, { readonly: true });
    try {
      expect(plain.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      plain.close();
    }
  });

  it('enforces foreign keys through the store (a node of an unknown user is refused)', async () => {
    store = createSqliteStore(file);
    await expect(store.nodes.create(draft('x', { userId: 'u-missing' }), { addressFor })).rejects.toThrow(
      /FOREIGN KEY/,
    );
  });
});
