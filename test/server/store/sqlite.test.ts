import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addressPlan } from '../../../server/nodes/addresses.ts';
import { createSqliteStore } from '../../../server/store/sqlite/index.ts';
import { MIGRATIONS } from '../../../server/store/sqlite/migrations.ts';
import { openSqlite } from '../../../server/store/sqlite/open.ts';
import type { NodeDraft, Store } from '../../../server/store/store.ts';
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
    const alice = await store.users.upsert(
      { subject: 'local:alice', email: 'alice@example.com', displayName: 'Alice', groups: ['eng'] },
      10,
    );
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
    const policy = await store.policies.append({ text: '{}', author: 'me', starter: false, createdAt: 30 });
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
