import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addressPlan } from '../../../server/nodes/addresses.ts';
import type {
  ApiKeyRecord,
  ConsoleSessionRecord,
  NodeRecord,
  PreAuthKeyRecord,
  ReplicaRecord,
} from '../../../server/store/records.ts';
import { respelled } from '../../support/keys.ts';
import { identityStateCases } from './identity-state.cases.ts';
import {
  StoreConflict,
  type CreateNodeOptions,
  type NodeDraft,
  type Store,
  type StoreConflictCode,
} from '../../../server/store/store.ts';

/**
 * What every Store backend must do, whatever it runs on. Each backend's suite calls
 * runStoreCases with a factory that gives a fresh, empty, migrated store.
 */
export function runStoreCases(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    const T0 = 1_800_000_000_000;
    const plan = addressPlan('100.64.0.0/10', 'fd7a:115c:a1e0::/48');
    const addressFor = (i: number) => plan.addressFor(i);
    let store: Store;

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const key32 = () => randomBytes(32).toString('base64');
    const draft = (over: Partial<NodeDraft> = {}): NodeDraft => ({
      id: `n-${randomUUID()}`,
      name: 'node',
      machineKey: key32(),
      wireguardKey: key32(),
      tags: ['tag:server'],
      endpoints: [],
      advertisedRoutes: [],
      approvedRoutes: [],
      ephemeral: false,
      createdAt: T0,
      ...over,
    });
    const createNode = (over: Partial<NodeDraft> = {}, options: Partial<CreateNodeOptions> = {}) =>
      store.nodes.create(draft(over), { addressFor, ...options });
    const user = async (email: string, groups: string[] = []) =>
      (await store.users.upsert({ subject: `local:${email}`, email, displayName: email, groups }, T0)).record;
    const preAuthKey = (over: Partial<PreAuthKeyRecord> = {}): PreAuthKeyRecord => ({
      id: randomBytes(8).toString('hex'),
      secretHash: randomBytes(32).toString('hex'),
      reusable: false,
      ephemeral: false,
      tags: ['tag:server'],
      usedCount: 0,
      expiresAt: T0 + 3_600_000,
      description: 'test key',
      createdAt: T0,
      ...over,
    });
    const consume = (k: PreAuthKeyRecord, now = T0) => ({ consumePreAuthKey: { id: k.id, now } });
    const expectConflict = async (p: Promise<unknown>, code: StoreConflictCode) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `expected a StoreConflict ${code}`).toBeInstanceOf(StoreConflict);
      expect((err as StoreConflict).code).toBe(code);
    };

    describe('users', () => {
      it('creates a user with an id and creation time, found by id and by email', async () => {
        const alice = await user('alice@example.com', ['eng']);
        expect(alice).toMatchObject({
          subject: 'local:alice@example.com',
          email: 'alice@example.com',
          groups: ['eng'],
          createdAt: T0,
        });
        expect(alice.id).toMatch(/\S/);
        expect(await store.users.get(alice.id)).toEqual(alice);
        expect(await store.users.getByEmail('alice@example.com')).toEqual(alice);
        expect(await store.users.get('u-nobody')).toBeUndefined();
        expect(await store.users.getByEmail('nobody@example.com')).toBeUndefined();
      });

      it('upserting the same subject updates email, name and groups but keeps id and creation time', async () => {
        const first = await user('bob@example.com', ['eng']);
        const again = (
          await store.users.upsert(
            {
              subject: 'local:bob@example.com',
              email: 'robert@example.com',
              displayName: 'Robert',
              groups: ['eng', 'ops'],
            },
            T0 + 5_000,
          )
        ).record;
        expect(again).toEqual({ ...first, email: 'robert@example.com', displayName: 'Robert', groups: ['eng', 'ops'] });
        expect(await store.users.get(first.id)).toEqual(again);
        expect(await store.users.list()).toHaveLength(1);
        expect(await store.users.getByEmail('bob@example.com')).toBeUndefined();
      });

      it("says which change-log row it wrote with a created or updated user, in the log's order", async () => {
        const before = await store.changes.head();
        const row = { subject: 'local:carol@example.com', email: 'carol@example.com', displayName: 'Carol' };
        const created = await store.users.upsert({ ...row, groups: [] }, T0);
        const updated = await store.users.upsert({ ...row, groups: ['ops'] }, T0 + 1);
        expect(created.changeSeq).toBeGreaterThan(before);
        expect(updated.changeSeq).toBeGreaterThan(created.changeSeq);
        const logged = await store.changes.since(before, 10);
        expect(logged.filter((c) => c.kind === 'user').map((c) => [c.seq, c.id])).toEqual([
          [created.changeSeq, created.record.id],
          [updated.changeSeq, created.record.id],
        ]);
      });

      it('lists users in creation order', async () => {
        const a = (
          await store.users.upsert({ subject: 's:a', email: 'a@example.com', displayName: 'A', groups: [] }, T0 + 2)
        ).record;
        const b = (
          await store.users.upsert({ subject: 's:b', email: 'b@example.com', displayName: 'B', groups: [] }, T0 + 1)
        ).record;
        expect((await store.users.list()).map((u) => u.id)).toEqual([b.id, a.id]);
      });

      it("deleting a user deletes their nodes and pre-auth keys, and nobody else's", async () => {
        const alice = await user('alice@example.com');
        const carol = await user('carol@example.com');
        const aliceKey = preAuthKey({ userId: alice.id, tags: [] });
        const carolKey = preAuthKey({ userId: carol.id, tags: [] });
        await store.preAuthKeys.create(aliceKey);
        await store.preAuthKeys.create(carolKey);
        const n1 = await createNode({ name: 'laptop', userId: alice.id, tags: [] });
        const n2 = await createNode({ name: 'phone', userId: alice.id, tags: [] });
        const kept = await createNode({ name: 'desk', userId: carol.id, tags: [] });
        const tagged = await createNode({ name: 'server' });

        expect(await store.users.delete(alice.id)).toBe(true);
        expect(await store.users.get(alice.id)).toBeUndefined();
        expect(await store.nodes.get(n1.id)).toBeUndefined();
        expect(await store.nodes.get(n2.id)).toBeUndefined();
        expect(await store.preAuthKeys.get(aliceKey.id)).toBeUndefined();
        expect((await store.nodes.list()).map((n) => n.id).sort()).toEqual([kept.id, tagged.id].sort());
        expect(await store.preAuthKeys.get(carolKey.id)).toBeDefined();
        expect(await store.users.delete(alice.id)).toBe(false);
      });

      it('refuses a node that names a user who does not exist', async () => {
        await expect(createNode({ userId: 'u-missing', tags: [] })).rejects.toThrow();
        expect(await store.nodes.list()).toEqual([]);
      });
    });

    describe('nodes: creation and addresses', () => {
      it('gives the first node address index 1 and returns the full record', async () => {
        const d = draft({ name: 'web', os: 'linux', expiresAt: T0 + 1000 });
        const n = await store.nodes.create(d, { addressFor });
        expect(n).toEqual({ ...d, ...plan.addressFor(1) });
        expect(n.ipv4).toBe('100.64.0.1');
        expect(n.ipv6).toBe('fd7a:115c:a1e0::1');
        expect(await store.nodes.get(n.id)).toEqual(n);
        expect(await store.nodes.getByMachineKey(d.machineKey)).toEqual(n);
        expect(await store.nodes.getByMachineKey(key32())).toBeUndefined();
        expect(await store.nodes.get('n-missing')).toBeUndefined();
      });

      it('keeps optional fields absent (not null) when they were not set', async () => {
        const n = await createNode();
        const got = (await store.nodes.get(n.id))!;
        for (const field of ['userId', 'os', 'lastSeen', 'expiresAt'] as const) {
          expect(field in got ? got[field] : undefined, field).toBeUndefined();
        }
      });

      it('gives sequential, unique addresses', async () => {
        const a = await createNode({ name: 'a' });
        const b = await createNode({ name: 'b' });
        const c = await createNode({ name: 'c' });
        expect([a, b, c].map((n) => n.ipv4)).toEqual(['100.64.0.1', '100.64.0.2', '100.64.0.3']);
        expect([a, b, c].map((n) => n.ipv6)).toEqual(['fd7a:115c:a1e0::1', 'fd7a:115c:a1e0::2', 'fd7a:115c:a1e0::3']);
      });

      it('never hands an address out twice, even under many concurrent creates', async () => {
        const created = await Promise.all(Array.from({ length: 60 }, (_, i) => createNode({ name: `host${i}` })));
        const v4 = new Set(created.map((n) => n.ipv4));
        const v6 = new Set(created.map((n) => n.ipv6));
        expect(v4.size).toBe(60);
        expect(v6.size).toBe(60);
        const stored = await store.nodes.list();
        expect(stored).toHaveLength(60);
        expect(new Set(stored.map((n) => n.ipv4)).size).toBe(60);
      });

      it("does not give a deleted node's address to a new node", async () => {
        const first = await createNode({ name: 'a' });
        await createNode({ name: 'b' });
        expect(await store.nodes.delete(first.id)).toBe(true);
        const next = await createNode({ name: 'c' });
        expect(next.ipv4).not.toBe(first.ipv4);
        expect(next.ipv6).not.toBe(first.ipv6);
        expect(next.ipv4).toBe('100.64.0.3');
      });

      it('skips an index whose address is already held', async () => {
        // A plan that maps index 1 and 2 to the same place: the second create must move on.
        const squashed = (i: number) => plan.addressFor(i === 2 ? 1 : i);
        const a = await store.nodes.create(draft({ name: 'a' }), { addressFor: squashed });
        const b = await store.nodes.create(draft({ name: 'b' }), { addressFor: squashed });
        expect(a.ipv4).toBe('100.64.0.1');
        expect(b.ipv4).toBe('100.64.0.3');
      });

      it('a failing address plan creates nothing', async () => {
        const err = new Error('no addresses left');
        await expect(
          store.nodes.create(draft(), {
            addressFor: () => {
              throw err;
            },
          }),
        ).rejects.toBe(err);
        expect(await store.nodes.list()).toEqual([]);
      });

      it('makes names unique: web, web-2, web-3; other names are left alone', async () => {
        await createNode({ name: 'webserver' });
        const names = [];
        for (let i = 0; i < 3; i++) names.push((await createNode({ name: 'web' })).name);
        expect(names).toEqual(['web', 'web-2', 'web-3']);
        expect((await createNode({ name: 'webserver' })).name).toBe('webserver-2');
        expect((await createNode({ name: 'db' })).name).toBe('db');
      });

      it('makes names unique under concurrent creates too', async () => {
        const created = await Promise.all(Array.from({ length: 10 }, () => createNode({ name: 'worker' })));
        const names = created.map((n) => n.name);
        expect(new Set(names).size).toBe(10);
        expect(names).toContain('worker');
        expect(names).toContain('worker-10');
      });

      it('refuses a second node with the same machine key or WireGuard key, naming the field', async () => {
        const n = await createNode({ name: 'a' });
        await expectConflict(createNode({ name: 'b', machineKey: n.machineKey }), 'node.machine_key_taken');
        await expectConflict(createNode({ name: 'c', wireguardKey: n.wireguardKey }), 'node.wireguard_key_taken');
        expect(await store.nodes.list()).toHaveLength(1);
        // The refused creates used no address.
        expect((await createNode({ name: 'd' })).ipv4).toBe('100.64.0.2');
      });
    });

    describe('nodes: keys and times as they are stored', () => {
      it('finds a node by its machine key and gives keys back in canonical base64', async () => {
        const n = await createNode();
        expect(await store.nodes.getByMachineKey(n.machineKey)).toEqual(n);
        expect(await store.nodes.getByMachineKey(key32())).toBeUndefined();
        expect(await store.nodes.getByMachineKey('not a key')).toBeUndefined();
      });

      it('refuses to write a key in another spelling than canonical base64, or a time out of range', async () => {
        const n = await createNode();
        for (const bad of [
          { wireguardKey: respelled(key32()) },
          { machineKey: respelled(key32()) },
          { expiresAt: 8.64e15 + 1 },
          { lastSeen: -1 },
          { createdAt: 1.5 },
        ]) {
          await expect(createNode(bad)).rejects.toThrow(TypeError);
        }
        await expect(store.nodes.update(n.id, { expiresAt: 1e16 })).rejects.toThrow(TypeError);
        await expect(store.preAuthKeys.create(preAuthKey({ expiresAt: Infinity }))).rejects.toThrow(TypeError);
        expect(await store.nodes.list()).toEqual([n]);
        expect(await store.preAuthKeys.list()).toEqual([]);
      });
    });

    describe('nodes: update and delete', () => {
      it('changes only the fields in the patch', async () => {
        const n = await createNode({ name: 'web', os: 'linux', endpoints: ['192.0.2.1:41641'] });
        const updated = await store.nodes.update(n.id, { endpoints: ['198.51.100.7:41641'], lastSeen: T0 + 10 });
        const expected = { ...n, endpoints: ['198.51.100.7:41641'], lastSeen: T0 + 10 };
        expect(updated).toEqual(expected);
        expect(await store.nodes.get(n.id)).toEqual(expected);
      });

      it('leaves a field alone when the patch has it as undefined', async () => {
        const n = await createNode({ name: 'web', os: 'linux', expiresAt: T0 + 99 });
        const updated = await store.nodes.update(n.id, { os: undefined, expiresAt: undefined, name: 'web1' });
        expect(updated).toEqual({ ...n, name: 'web1' });
      });

      it('clears an optional field when the patch sets it to null', async () => {
        const alice = await user('alice@example.com');
        const n = await createNode({
          name: 'web',
          os: 'linux',
          expiresAt: T0 + 99,
          lastSeen: T0,
          userId: alice.id,
          tags: [],
        });
        const updated = await store.nodes.update(n.id, {
          expiresAt: null,
          os: null,
          userId: null,
          lastSeen: null,
          tags: ['tag:x'],
        });
        const expected: NodeRecord = { ...n, tags: ['tag:x'] };
        delete expected.expiresAt;
        delete expected.os;
        delete expected.userId;
        delete expected.lastSeen;
        expect(updated).toEqual(expected);
        expect(await store.nodes.get(n.id)).toEqual(expected);
      });

      it('an empty patch returns the node unchanged', async () => {
        const n = await createNode();
        expect(await store.nodes.update(n.id, {})).toEqual(n);
      });

      it('answers undefined for a node that does not exist', async () => {
        expect(await store.nodes.update('n-missing', { name: 'x' })).toBeUndefined();
        expect(await store.nodes.update('n-missing', {})).toBeUndefined();
      });

      it('refuses a rename to a name in use, and a WireGuard key in use, changing nothing', async () => {
        const a = await createNode({ name: 'alpha' });
        const b = await createNode({ name: 'beta' });
        await expectConflict(store.nodes.update(b.id, { name: 'alpha' }), 'node.name_taken');
        await expectConflict(store.nodes.update(b.id, { wireguardKey: a.wireguardKey }), 'node.wireguard_key_taken');
        expect(await store.nodes.get(b.id)).toEqual(b);
      });

      it('never changes addresses, machine key or id through a patch', async () => {
        const n = await createNode();
        const patched = await store.nodes.update(n.id, { wireguardKey: key32() });
        expect(patched).toMatchObject({ id: n.id, ipv4: n.ipv4, ipv6: n.ipv6, machineKey: n.machineKey });
      });

      it('deletes a node once', async () => {
        const n = await createNode();
        expect(await store.nodes.delete(n.id)).toBe(true);
        expect(await store.nodes.get(n.id)).toBeUndefined();
        expect(await store.nodes.getByMachineKey(n.machineKey)).toBeUndefined();
        expect(await store.nodes.delete(n.id)).toBe(false);
      });

      it('lists nodes in creation order', async () => {
        const late = await createNode({ name: 'late', createdAt: T0 + 2 });
        const early = await createNode({ name: 'early', createdAt: T0 + 1 });
        expect((await store.nodes.list()).map((n) => n.id)).toEqual([early.id, late.id]);
      });
    });

    describe('pre-auth keys', () => {
      it('stores, lists and finds keys', async () => {
        const alice = await user('alice@example.com');
        const k1 = preAuthKey({ userId: alice.id, tags: [], createdAt: T0 + 1 });
        const k2 = preAuthKey({ reusable: true, ephemeral: true, tags: ['tag:a', 'tag:b'], createdAt: T0 + 2 });
        await store.preAuthKeys.create(k2);
        await store.preAuthKeys.create(k1);
        expect(await store.preAuthKeys.get(k1.id)).toEqual(k1);
        expect(await store.preAuthKeys.get(k2.id)).toEqual(k2);
        expect(await store.preAuthKeys.get('missing')).toBeUndefined();
        expect((await store.preAuthKeys.list()).map((k) => k.id)).toEqual([k1.id, k2.id]);
      });

      it('revokes a key once', async () => {
        const k = preAuthKey();
        await store.preAuthKeys.create(k);
        expect(await store.preAuthKeys.revoke(k.id, T0 + 5)).toBe(true);
        expect((await store.preAuthKeys.get(k.id))?.revokedAt).toBe(T0 + 5);
        expect(await store.preAuthKeys.revoke(k.id, T0 + 9)).toBe(false);
        expect((await store.preAuthKeys.get(k.id))?.revokedAt).toBe(T0 + 5);
        expect(await store.preAuthKeys.revoke('missing', T0)).toBe(false);
      });

      it('a single-use key is used up by the node it creates', async () => {
        const k = preAuthKey();
        await store.preAuthKeys.create(k);
        await createNode({ name: 'first' }, consume(k));
        expect((await store.preAuthKeys.get(k.id))?.usedCount).toBe(1);
        await expectConflict(createNode({ name: 'second' }, consume(k)), 'preauth_key.unusable');
        expect((await store.nodes.list()).map((n) => n.name)).toEqual(['first']);
        expect((await store.preAuthKeys.get(k.id))?.usedCount).toBe(1);
      });

      it('two concurrent creates with one single-use key: exactly one wins', async () => {
        const k = preAuthKey();
        await store.preAuthKeys.create(k);
        const results = await Promise.allSettled([
          createNode({ name: 'a' }, consume(k)),
          createNode({ name: 'b' }, consume(k)),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]!.reason).toBeInstanceOf(StoreConflict);
        expect(await store.nodes.list()).toHaveLength(1);
        expect((await store.preAuthKeys.get(k.id))?.usedCount).toBe(1);
      });

      it('many concurrent creates with one single-use key: exactly one wins', async () => {
        const k = preAuthKey();
        await store.preAuthKeys.create(k);
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => createNode({ name: `n${i}` }, consume(k))),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(await store.nodes.list()).toHaveLength(1);
      });

      it('a reusable key counts every use', async () => {
        const k = preAuthKey({ reusable: true });
        await store.preAuthKeys.create(k);
        await Promise.all([1, 2, 3].map((i) => createNode({ name: `n${i}` }, consume(k))));
        expect((await store.preAuthKeys.get(k.id))?.usedCount).toBe(3);
        expect(await store.nodes.list()).toHaveLength(3);
      });

      it('a revoked key cannot be used, even if reusable', async () => {
        const k = preAuthKey({ reusable: true });
        await store.preAuthKeys.create(k);
        await store.preAuthKeys.revoke(k.id, T0);
        await expectConflict(createNode({}, consume(k)), 'preauth_key.unusable');
        expect(await store.nodes.list()).toEqual([]);
        expect((await store.preAuthKeys.get(k.id))?.usedCount).toBe(0);
      });

      it('an expired key cannot be used: at its expiry time and after', async () => {
        const k = preAuthKey({ reusable: true, expiresAt: T0 + 1000 });
        await store.preAuthKeys.create(k);
        await expectConflict(createNode({}, consume(k, T0 + 1000)), 'preauth_key.unusable');
        await expectConflict(createNode({}, consume(k, T0 + 5000)), 'preauth_key.unusable');
        expect(await store.nodes.list()).toEqual([]);
        await createNode({}, consume(k, T0 + 999));
        expect((await store.preAuthKeys.get(k.id))?.usedCount).toBe(1);
      });

      it('an unknown key cannot be used', async () => {
        await expectConflict(
          createNode({}, { consumePreAuthKey: { id: 'nosuchkey', now: T0 } }),
          'preauth_key.unusable',
        );
        expect(await store.nodes.list()).toEqual([]);
      });

      it('an update can use a key in the same step (a machine signing in again)', async () => {
        const n = await createNode({ name: 'a' });
        const k = preAuthKey();
        await store.preAuthKeys.create(k);
        const updated = await store.nodes.update(n.id, { expiresAt: T0 + 50 }, consume(k));
        expect(updated?.expiresAt).toBe(T0 + 50);
        expect((await store.preAuthKeys.get(k.id))?.usedCount).toBe(1);
        // Used up now: the next update with it changes nothing.
        await expectConflict(
          store.nodes.update(n.id, { expiresAt: T0 + 99, name: 'b' }, consume(k)),
          'preauth_key.unusable',
        );
        expect(await store.nodes.get(n.id)).toEqual(updated);
        // With an empty patch the key is still used.
        const r = preAuthKey({ reusable: true });
        await store.preAuthKeys.create(r);
        expect(await store.nodes.update(n.id, {}, consume(r))).toEqual(updated);
        expect((await store.preAuthKeys.get(r.id))?.usedCount).toBe(1);
      });

      it('an update of a node that does not exist uses no key', async () => {
        const k = preAuthKey();
        await store.preAuthKeys.create(k);
        expect(await store.nodes.update('n-missing', { name: 'x' }, consume(k))).toBeUndefined();
        expect((await store.preAuthKeys.get(k.id))?.usedCount).toBe(0);
      });

      it('an update that breaks a uniqueness rule gives the key back', async () => {
        await createNode({ name: 'taken' });
        const n = await createNode({ name: 'mine' });
        const k = preAuthKey();
        await store.preAuthKeys.create(k);
        await expectConflict(store.nodes.update(n.id, { name: 'taken' }, consume(k)), 'node.name_taken');
        expect((await store.preAuthKeys.get(k.id))?.usedCount).toBe(0);
      });

      it('a create that fails after taking the key gives the key back', async () => {
        const existing = await createNode({ name: 'a' });
        const k = preAuthKey();
        await store.preAuthKeys.create(k);
        await expectConflict(createNode({ machineKey: existing.machineKey }, consume(k)), 'node.machine_key_taken');
        expect((await store.preAuthKeys.get(k.id))?.usedCount).toBe(0);
        await createNode({ name: 'b' }, consume(k));
        expect((await store.preAuthKeys.get(k.id))?.usedCount).toBe(1);
      });
    });

    describe('API keys', () => {
      const apiKey = (over: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
        id: randomBytes(8).toString('hex'),
        secretHash: randomBytes(32).toString('hex'),
        scopes: ['read'],
        description: 'ci',
        createdAt: T0,
        ...over,
      });

      it('stores keys with their scopes and expiry, listed in creation order', async () => {
        const a = apiKey({ scopes: ['read', 'policy'], expiresAt: T0 + 60_000, createdAt: T0 + 2 });
        const b = apiKey({ scopes: ['admin'], createdAt: T0 + 1 });
        await store.apiKeys.create(a);
        await store.apiKeys.create(b);
        expect(await store.apiKeys.get(a.id)).toEqual(a);
        expect(await store.apiKeys.get(b.id)).toEqual(b);
        expect(await store.apiKeys.get('missing')).toBeUndefined();
        expect((await store.apiKeys.list()).map((k) => k.id)).toEqual([b.id, a.id]);
      });

      it('records the last use', async () => {
        const k = apiKey();
        await store.apiKeys.create(k);
        await store.apiKeys.touch(k.id, T0 + 42);
        expect((await store.apiKeys.get(k.id))?.lastUsedAt).toBe(T0 + 42);
      });

      it('revokes a key once', async () => {
        const k = apiKey();
        await store.apiKeys.create(k);
        expect(await store.apiKeys.revoke(k.id, T0 + 7)).toBe(true);
        expect(await store.apiKeys.revoke(k.id, T0 + 8)).toBe(false);
        expect((await store.apiKeys.get(k.id))?.revokedAt).toBe(T0 + 7);
        expect(await store.apiKeys.revoke('missing', T0)).toBe(false);
      });
    });

    describe('policy versions', () => {
      const policy = (text: string, over: { starter?: boolean; createdAt?: number } = {}) => ({
        text,
        author: 'api-key:test',
        starter: over.starter ?? false,
        createdAt: over.createdAt ?? T0,
      });

      it('starts with no policy', async () => {
        expect(await store.policies.current()).toBeUndefined();
        expect(await store.policies.list()).toEqual([]);
      });

      it('appends versions 1, 2, ... and the newest is current', async () => {
        const v1 = (await store.policies.append(policy('{}', { starter: true }))).record;
        const v2 = (await store.policies.append(policy('{"acls": []}', { createdAt: T0 + 1 }))).record;
        expect(v1).toEqual({ version: 1, ...policy('{}', { starter: true }) });
        expect(v2.version).toBe(2);
        expect(await store.policies.current()).toEqual(v2);
        expect((await store.policies.list()).map((p) => p.version)).toEqual([2, 1]);
      });

      it('appends when the expected version is the current one (0 for none)', async () => {
        const v1 = (await store.policies.append(policy('a'), 0)).record;
        const v2 = (await store.policies.append(policy('b'), v1.version)).record;
        expect(v2.version).toBe(2);
      });

      it('refuses an append whose expected version is stale, keeping the current policy', async () => {
        await store.policies.append(policy('a'));
        const v2 = (await store.policies.append(policy('b'))).record;
        await expectConflict(store.policies.append(policy('c'), 1), 'policy.version_conflict');
        await expectConflict(store.policies.append(policy('c'), 0), 'policy.version_conflict');
        await expectConflict(store.policies.append(policy('c'), 3), 'policy.version_conflict');
        expect(await store.policies.current()).toEqual(v2);
        expect(await store.policies.list()).toHaveLength(2);
      });

      it('of concurrent appends expecting the same version, exactly one wins', async () => {
        const v1 = (await store.policies.append(policy('a'))).record;
        const results = await Promise.allSettled(
          ['x', 'y', 'z'].map((t) => store.policies.append(policy(t), v1.version)),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((await store.policies.current())?.version).toBe(2);
      });

      it("says which change-log row it wrote with the version, in the log's order", async () => {
        const before = await store.changes.head();
        const v1 = await store.policies.append(policy('a'));
        const v2 = await store.policies.append(policy('b'));
        expect(v1.changeSeq).toBeGreaterThan(before);
        expect(v2.changeSeq).toBeGreaterThan(v1.changeSeq);
        const logged = await store.changes.since(before, 10);
        expect(logged.filter((c) => c.kind === 'policy').map((c) => [c.seq, c.id])).toEqual([
          [v1.changeSeq, String(v1.record.version)],
          [v2.changeSeq, String(v2.record.version)],
        ]);
      });
    });

    describe('audit', () => {
      const event = (at: number, message: string) => ({
        at,
        kind: 'admin' as const,
        outcome: 'success' as const,
        message,
      });

      it('prunes only the events from before the cutoff, and says how many went', async () => {
        for (const [at, m] of [
          [T0 - 3000, 'oldest'],
          [T0 - 2000, 'old'],
          [T0, 'at the cutoff'],
          [T0 + 1000, 'new'],
        ] as const)
          await store.audit.append(event(at, m));
        expect(await store.audit.prune(T0)).toBe(2);
        expect((await store.audit.list({ limit: 10 })).map((e) => e.message)).toEqual(['new', 'at the cutoff']);
        expect(await store.audit.prune(T0)).toBe(0);
      });

      it('prunes more events than one batch holds', async () => {
        // Concurrently, 100 at a time: one by one a networked database takes its round trips 12,000 times.
        for (let i = 0; i < 12_000; i += 100) {
          await Promise.all(
            Array.from({ length: 100 }, (_, j) => store.audit.append(event(T0 - 1 - i - j, `e${i + j}`))),
          );
        }
        await store.audit.append(event(T0, 'kept'));
        expect(await store.audit.prune(T0)).toBe(12_000);
        expect((await store.audit.list({ limit: 10 })).map((e) => e.message)).toEqual(['kept']);
      }, 60_000);

      it('filters by actor, node and code prefix, where a prefix is text and not a pattern', async () => {
        const add = (over: Record<string, string>) =>
          store.audit.append({ ...event(T0, over.message ?? 'e'), ...over });
        await add({ actor: 'alice@example.com', code: 'PUT /api/v1/policy', message: 'a1' });
        await add({ actor: 'bob@example.com', code: 'POST /api/v1/nodes/n1/rename', nodeId: 'n1', message: 'b1' });
        await add({ actor: 'alice@example.com', code: 'login.completed', message: 'a2' });
        await add({ actor: 'alice@example.com', code: 'login_completed', message: 'a3' });
        const messages = async (q: object) => (await store.audit.list({ limit: 10, ...q })).map((e) => e.message);
        expect(await messages({ actor: 'alice@example.com' })).toEqual(['a3', 'a2', 'a1']);
        expect(await messages({ nodeId: 'n1' })).toEqual(['b1']);
        expect(await messages({ codePrefix: 'PUT /api/v1/policy' })).toEqual(['a1']);
        expect(await messages({ codePrefix: 'login.' })).toEqual(['a2']);
        expect(await messages({ codePrefix: 'login_' })).toEqual(['a3']);
        expect(await messages({ codePrefix: 'login%' })).toEqual([]);
      });
    });

    describe('console sessions', () => {
      const session = (userId: string, over: Partial<ConsoleSessionRecord> = {}): ConsoleSessionRecord => ({
        id: randomBytes(32).toString('hex'),
        userId,
        csrfToken: randomBytes(32).toString('base64url'),
        provider: 'idp',
        createdAt: T0,
        lastSeenAt: T0,
        expiresAt: T0 + 3_600_000,
        ...over,
      });

      it('stores a session, records its use, and deletes it once', async () => {
        const u = await user('s@example.com');
        const s = session(u.id, { source: '127.0.0.1' });
        await store.consoleSessions.create(s);
        expect(await store.consoleSessions.get(s.id)).toEqual(s);
        expect(await store.consoleSessions.touch(s.id, T0 + 5000)).toBe(true);
        expect((await store.consoleSessions.get(s.id))!.lastSeenAt).toBe(T0 + 5000);
        expect(await store.consoleSessions.delete(s.id)).toBe(true);
        expect(await store.consoleSessions.delete(s.id)).toBe(false);
        expect(await store.consoleSessions.touch(s.id, T0 + 6000)).toBe(false);
        expect(await store.consoleSessions.get(s.id)).toBeUndefined();
      });

      it("ends every session of a user, and all of them with the user's removal", async () => {
        const a = await user('a@example.com');
        const b = await user('b@example.com');
        const [a1, a2, b1] = [session(a.id), session(a.id), session(b.id)];
        for (const s of [a1, a2, b1]) await store.consoleSessions.create(s!);
        expect(await store.consoleSessions.deleteForUser(a.id)).toBe(2);
        expect(await store.consoleSessions.get(a1!.id)).toBeUndefined();
        expect(await store.consoleSessions.get(b1!.id)).toBeDefined();
        await store.users.delete(b.id);
        expect(await store.consoleSessions.get(b1!.id)).toBeUndefined();
      });

      it('prunes sessions past their absolute end or unused since the idle cutoff, and keeps the rest', async () => {
        const u = await user('p@example.com');
        const live = session(u.id, { lastSeenAt: T0 + 1000 });
        const ended = session(u.id, { expiresAt: T0 + 2000 });
        const idle = session(u.id, { lastSeenAt: T0 - 1 });
        for (const s of [live, ended, idle]) await store.consoleSessions.create(s);
        expect(await store.consoleSessions.prune(T0 + 2000, T0)).toBe(2);
        expect(await store.consoleSessions.get(live.id)).toBeDefined();
      });
    });

    identityStateCases(() => store, T0);

    describe('replicas and presence', () => {
      const replica = (id: string, over: Partial<ReplicaRecord> = {}): ReplicaRecord => ({
        id,
        advertise: `http://10.0.0.1:8080/${id}`,
        startedAt: T0,
        heartbeatAt: T0,
        appliedSeq: 0,
        connected: 0,
        leading: false,
        ...over,
      });

      it('keeps one row per replica, replaced by each heartbeat, listed by id', async () => {
        await store.replicas.heartbeat(replica('r2'));
        await store.replicas.heartbeat(replica('r1', { relayAddress: '10.0.0.1:3480' }));
        await store.replicas.heartbeat(
          replica('r2', { heartbeatAt: T0 + 2000, appliedSeq: 7, connected: 3, leading: true }),
        );
        expect(await store.replicas.list()).toEqual([
          replica('r1', { relayAddress: '10.0.0.1:3480' }),
          replica('r2', { heartbeatAt: T0 + 2000, appliedSeq: 7, connected: 3, leading: true }),
        ]);
      });

      it("records where a node's stream is, moves it, and clears it only for the replica that holds it", async () => {
        const n = await createNode({ name: 'p1' });
        await store.presence.set({ nodeId: n.id, replicaId: 'r1', since: T0 });
        await store.presence.set({
          nodeId: n.id,
          replicaId: 'r2',
          observedEndpoint: '203.0.113.7:41641',
          routeHealth: { routes: [] },
          paths: { direct: 1, relay: 0, none: 2 },
          since: T0 + 1,
        });
        // The close on r1 arrives after the node moved to r2: r2's presence stays.
        expect(await store.presence.clear(n.id, 'r1')).toBe(false);
        expect(await store.presence.get(n.id)).toEqual({
          nodeId: n.id,
          replicaId: 'r2',
          observedEndpoint: '203.0.113.7:41641',
          routeHealth: { routes: [] },
          paths: { direct: 1, relay: 0, none: 2 },
          since: T0 + 1,
        });
        expect(await store.presence.clear(n.id, 'r2')).toBe(true);
        expect(await store.presence.get(n.id)).toBeUndefined();
      });

      it('writes a batch of presence in one go: sets, clears of its own rows only, a deleted node skipped, a change per row written', async () => {
        const [a, b, c, gone] = [
          await createNode({ name: 'pb-a' }),
          await createNode({ name: 'pb-b' }),
          await createNode({ name: 'pb-c' }),
          await createNode({ name: 'pb-gone' }),
        ];
        await store.presence.set({ nodeId: b.id, replicaId: 'r1', since: T0 });
        await store.presence.set({ nodeId: c.id, replicaId: 'r2', since: T0 });
        expect(await store.nodes.delete(gone.id)).toBe(true);
        const before = await store.changes.head();
        await store.presence.write([
          {
            kind: 'set',
            record: { nodeId: a.id, replicaId: 'r1', observedEndpoint: '203.0.113.9:41641', since: T0 + 1 },
            leaseMs: 60_000,
          },
          { kind: 'set', record: { nodeId: gone.id, replicaId: 'r1', since: T0 + 1 } },
          { kind: 'clear', nodeId: b.id, replicaId: 'r1' },
          // c moved to r2 meanwhile: r1's close leaves it.
          { kind: 'clear', nodeId: c.id, replicaId: 'r1' },
        ]);
        const rows = await store.presence.list();
        expect(rows.map((p) => [p.nodeId, p.replicaId, p.since])).toEqual(
          [
            [a.id, 'r1', T0 + 1],
            [c.id, 'r2', T0],
          ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
        );
        expect(rows.find((p) => p.nodeId === a.id)?.observedEndpoint).toBe('203.0.113.9:41641');
        expect(rows.find((p) => p.nodeId === a.id)?.leaseUntil).toBeGreaterThan(Date.now());
        const logged = await store.changes.since(before, 10);
        expect(logged.map((l) => [l.kind, l.id]).sort()).toEqual(
          [
            ['presence', a.id],
            ['presence', b.id],
          ].sort(),
        );
        // An empty batch writes and logs nothing.
        await store.presence.write([]);
        expect(await store.changes.head()).toBe(logged[logged.length - 1]!.seq);
      });

      it("clears a dead replica's presence, and removing a replica clears it too", async () => {
        const [a, b, c] = [
          await createNode({ name: 'a' }),
          await createNode({ name: 'b' }),
          await createNode({ name: 'c' }),
        ];
        for (const [n, r] of [
          [a, 'r1'],
          [b, 'r1'],
          [c, 'r2'],
        ] as const) {
          await store.presence.set({ nodeId: n.id, replicaId: r, since: T0 });
        }
        await store.replicas.heartbeat(replica('r1'));
        await store.replicas.heartbeat(replica('r2'));
        expect(await store.presence.clearReplica('r1')).toEqual([a.id, b.id].sort());
        expect((await store.presence.list()).map((p) => p.nodeId)).toEqual([c.id]);
        expect(await store.replicas.remove('r2')).toBe(true);
        expect(await store.replicas.remove('r2')).toBe(false);
        expect(await store.presence.list()).toEqual([]);
        expect((await store.replicas.list()).map((r) => r.id)).toEqual(['r1']);
      });

      it("leases a router's row by the database's clock, renews only the rows that replica holds, and lists the lapsed", async () => {
        const [a, b, c] = [
          await createNode({ name: 'a' }),
          await createNode({ name: 'b' }),
          await createNode({ name: 'c' }),
        ];
        const before = Date.now();
        await store.presence.set({ nodeId: a.id, replicaId: 'r1', since: T0 }, 60_000);
        await store.presence.set({ nodeId: b.id, replicaId: 'r1', since: T0 });
        await store.presence.set({ nodeId: c.id, replicaId: 'r2', since: T0 }, 1);
        // The database runs on this machine here, so its clock and ours agree to a second.
        const leased = (await store.presence.get(a.id))!.leaseUntil!;
        expect(leased).toBeGreaterThanOrEqual(before + 60_000 - 1_000);
        expect(leased).toBeLessThanOrEqual(Date.now() + 60_000 + 1_000);
        expect((await store.presence.get(b.id))!.leaseUntil).toBeUndefined();
        await new Promise((r) => setTimeout(r, 20));
        expect(await store.presence.lapsedLeases()).toEqual([{ nodeId: c.id, replicaId: 'r2' }]);

        const head = await store.changes.head();
        // r1 renews what it holds (b takes a lease now); c is r2's, untouched.
        expect(await store.presence.renewLeases('r1', [a.id, b.id, c.id], 60_000)).toEqual([a.id, b.id].sort());
        expect(await store.presence.lapsedLeases()).toEqual([{ nodeId: c.id, replicaId: 'r2' }]);
        expect(await store.presence.renewLeases('r2', [c.id], 60_000)).toEqual([c.id]);
        expect(await store.presence.lapsedLeases()).toEqual([]);
        expect(await store.presence.renewLeases('r2', [], 60_000)).toEqual([]);
        expect(await store.changes.head(), 'renewals log nothing').toBe(head);
        // A row written without a lease (no longer a router) has none.
        await store.presence.set({ nodeId: a.id, replicaId: 'r1', since: T0, leaseUntil: leased });
        expect((await store.presence.get(a.id))!.leaseUntil).toBeUndefined();
        for (const bad of [0, -1, 1.5, 600_001, Number.NaN]) {
          await expect(store.presence.renewLeases('r1', [a.id], bad)).rejects.toThrow(TypeError);
          await expect(store.presence.set({ nodeId: a.id, replicaId: 'r1', since: T0 }, bad)).rejects.toThrow(
            TypeError,
          );
        }
      });

      it('leases a router afresh on the replica it moved to, which the old replica can no longer renew', async () => {
        const n = await createNode({ name: 'router' });
        await store.presence.set({ nodeId: n.id, replicaId: 'r1', since: T0 }, 1);
        await new Promise((r) => setTimeout(r, 20));
        expect(await store.presence.lapsedLeases()).toEqual([{ nodeId: n.id, replicaId: 'r1' }]);
        await store.presence.set({ nodeId: n.id, replicaId: 'r2', since: T0 + 5 }, 60_000);
        expect(await store.presence.lapsedLeases()).toEqual([]);
        expect(await store.presence.renewLeases('r1', [n.id], 1)).toEqual([]);
        await new Promise((r) => setTimeout(r, 20));
        expect(await store.presence.lapsedLeases()).toEqual([]);
        expect((await store.presence.get(n.id))!.replicaId).toBe('r2');
      });

      it('drops a presence with its node', async () => {
        const n = await createNode({ name: 'gone' });
        await store.presence.set({ nodeId: n.id, replicaId: 'r1', since: T0 });
        await store.nodes.delete(n.id);
        expect(await store.presence.list()).toEqual([]);
      });
    });

    describe('route primaries', () => {
      it('stores the elected primary of each key, replaces and deletes them in one write, each logged', async () => {
        const head = await store.changes.head();
        const r1 = {
          key: '10.1.0.0/16',
          nodeId: 'n1',
          reason: 'r1 is its only healthy router',
          changedAt: T0,
          electedBy: 'a',
        };
        const none = {
          key: '10.2.0.0/16|tag:east',
          reason: 'no approved router is online and healthy',
          changedAt: T0,
          electedBy: 'a',
        };
        await store.routePrimaries.write([r1, none], []);
        expect(await store.routePrimaries.list()).toEqual([r1, none]);
        const moved = { ...r1, nodeId: 'n2', reason: 'failover from r1 (offline)', changedAt: T0 + 5, electedBy: 'b' };
        await store.routePrimaries.write([moved], [none.key, 'never-stored']);
        expect(await store.routePrimaries.get(r1.key)).toEqual(moved);
        expect(await store.routePrimaries.get(none.key)).toBeUndefined();
        const logged = (await store.changes.since(head, 10)).map((c) => [c.kind, c.id]);
        expect(logged).toEqual([
          ['route', r1.key],
          ['route', none.key],
          ['route', r1.key],
          ['route', none.key],
        ]);
      });
    });

    describe('leader terms', () => {
      const primary = (over: Partial<{ nodeId: string; electedBy: string }> = {}) => ({
        key: '10.1.0.0/16',
        nodeId: 'n1',
        reason: 'r1 is its only healthy router',
        changedAt: T0,
        electedBy: 'a',
        ...over,
      });

      it("refuses a deposed leader's write once a newer term is claimed; the current term's write lands", async () => {
        const first = await store.routePrimaries.claimTerm();
        await store.routePrimaries.write([primary()], [], first);
        const second = await store.routePrimaries.claimTerm();
        expect(second).toBeGreaterThan(first);
        const head = await store.changes.head();
        await expectConflict(
          store.routePrimaries.write([primary({ nodeId: 'n9', electedBy: 'old' })], [], first),
          'store.leader_term_stale',
        );
        await expectConflict(store.routePrimaries.write([], ['10.1.0.0/16'], first), 'store.leader_term_stale');
        expect(await store.routePrimaries.list()).toEqual([primary()]);
        expect(await store.changes.head(), 'a refused write logs nothing').toBe(head);
        await store.routePrimaries.write([primary({ nodeId: 'n2', electedBy: 'b' })], [], second);
        expect(await store.routePrimaries.get('10.1.0.0/16')).toEqual(primary({ nodeId: 'n2', electedBy: 'b' }));
      });
    });

    describe('change log', () => {
      const logged = async (from = 0) => (await store.changes.since(from, 1000)).map((c) => `${c.kind}:${c.id}`);

      it('starts empty, then logs each change in commit order with its kind and id', async () => {
        expect(await store.changes.head()).toBe(0);
        expect(await store.changes.since(0, 10)).toEqual([]);
        const u = await user('log@example.com');
        const n = await createNode({ userId: u.id });
        await store.nodes.update(n.id, { endpoints: ['192.0.2.1:41641'] });
        const p = (await store.policies.append({ text: '{}', author: 'a', starter: false, createdAt: T0 })).record;
        await store.nodes.delete(n.id);
        expect(await logged()).toEqual([
          `user:${u.id}`,
          `node:${n.id}`,
          `node:${n.id}`,
          `policy:${p.version}`,
          `node:${n.id}`,
        ]);
        const all = await store.changes.since(0, 1000);
        for (let i = 1; i < all.length; i++) expect(all[i]!.seq).toBeGreaterThan(all[i - 1]!.seq);
        expect(await store.changes.head()).toBe(all.at(-1)!.seq);
        expect(all.every((c) => Number.isInteger(c.at) && c.at > 0)).toBe(true);
      });

      it('reads from a seq, at most limit changes', async () => {
        for (const name of ['a', 'b', 'c']) await createNode({ name });
        const [first, second, third] = await store.changes.since(0, 1000);
        expect(await store.changes.since(first!.seq, 1)).toEqual([second]);
        expect(await store.changes.since(second!.seq, 10)).toEqual([third]);
        expect(await store.changes.since(third!.seq, 10)).toEqual([]);
      });

      it("logs each node that goes with its user's removal", async () => {
        const u = await user('gone@example.com');
        const [a, b] = [await createNode({ userId: u.id }), await createNode({ userId: u.id })];
        const head = await store.changes.head();
        expect(await store.users.delete(u.id)).toBe(true);
        expect((await logged(head)).sort()).toEqual([`node:${a.id}`, `node:${b.id}`, `user:${u.id}`].sort());
        expect(await store.users.delete(u.id)).toBe(false);
        expect(await store.changes.head()).toBe((await store.changes.since(head, 10)).at(-1)!.seq);
      });

      it('logs nothing for a change that failed or changed nothing', async () => {
        const n = await createNode({ name: 'taken' });
        const other = await createNode({ name: 'other' });
        const head = await store.changes.head();
        await expectConflict(store.nodes.update(other.id, { name: 'taken' }), 'node.name_taken');
        await expectConflict(createNode({ machineKey: n.machineKey }), 'node.machine_key_taken');
        await expectConflict(
          store.policies.append({ text: '{}', author: 'a', starter: false, createdAt: T0 }, 7),
          'policy.version_conflict',
        );
        expect(await store.nodes.update(n.id, {})).toEqual(n);
        expect(await store.nodes.delete('n-none')).toBe(false);
        expect(await store.changes.head()).toBe(head);
      });

      it('hints a watcher after a change commits, and no more once it stopped watching', async () => {
        const hints: number[] = [];
        const stop = store.changes.watch((seq) => hints.push(seq));
        // A watcher on PostgreSQL listens on its own connection: give it a moment to be listening.
        await until(async () => {
          await store.changes.append('node', 'probe');
          return hints.length > 0;
        });
        const n = await createNode();
        const seq = await store.changes.head();
        await until(async () => hints.some((h) => h >= seq));
        expect((await store.changes.since(seq - 1, 10)).map((c) => c.id)).toEqual([n.id]);
        stop();
        const count = hints.length;
        await createNode();
        await new Promise((r) => setTimeout(r, 200));
        expect(hints.length).toBe(count);
      });

      it('logs a change made elsewhere (soft state) with append', async () => {
        const seq = await store.changes.append('node', 'n-somewhere');
        expect(await store.changes.since(seq - 1, 10)).toEqual([
          { seq, at: expect.any(Number), kind: 'node', id: 'n-somewhere' },
        ]);
      });

      it('prunes changes older than the cutoff but keeps the newest, and says where the horizon is', async () => {
        expect(await store.changes.horizon()).toBe(0);
        for (const name of ['a', 'b', 'c']) await createNode({ name });
        const all = await store.changes.since(0, 10);
        expect(await store.changes.prune(Date.now() + 60_000)).toBe(2);
        expect(await store.changes.since(0, 10)).toEqual([all[2]]);
        expect(await store.changes.horizon()).toBe(all[1]!.seq);
        expect(await store.changes.prune(Date.now() + 60_000)).toBe(0);
        expect(await store.changes.head()).toBe(all[2]!.seq);
      });
    });

    it('answers a ping while the database is there', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe('authorities', () => {
      const authority = (id: string, createdAt: number) => ({
        id,
        certificate: `cert ${id}`,
        privateKey: `key ${id}`,
        notAfter: T0 + 1e10,
        createdAt,
      });

      it("keeps a rotation's new CA beside the signing one, and switching retires the others in one go", async () => {
        await store.authorities.addFirst(authority('ca-old', T0));
        await store.authorities.add(authority('ca-new', T0 + 5000));
        expect((await store.authorities.list()).map((a) => [a.id, a.retiredAt])).toEqual([
          ['ca-new', undefined],
          ['ca-old', undefined],
        ]);
        expect(await store.authorities.switchTo('ca-new', T0 + 1000)).toBe(true);
        expect((await store.authorities.list()).map((a) => [a.id, a.createdAt, a.retiredAt])).toEqual([
          ['ca-new', T0 + 1000, undefined],
          ['ca-old', T0, T0 + 1000],
        ]);
        expect(await store.authorities.switchTo('ca-missing', T0 + 2000)).toBe(false);
        expect((await store.authorities.list()).find((a) => a.id === 'ca-new')?.retiredAt).toBeUndefined();
      });

      const lapse = (id: string, at: number) => ({
        at,
        kind: 'pki.rotation' as const,
        outcome: 'success' as const,
        actor: 'system',
        code: 'pki.grace_lapsed',
        message: `grace period of ${id} lapsed`,
      });

      it('holds one rotation in progress at a time: a second is refused until the first is over', async () => {
        await store.authorities.addFirst(authority('ca-old', T0));
        expect(await store.authorities.startRotation(authority('ca-new', T0 + 5000), false)).toBe(true);
        expect(await store.authorities.startRotation(authority('ca-other', T0 + 6000), false)).toBe(false);
        expect(await store.authorities.startRotation(authority('ca-now', T0 + 100), true)).toBe(false);
        expect((await store.authorities.list()).map((a) => [a.id, a.rotating])).toEqual([
          ['ca-new', true],
          ['ca-old', undefined],
        ]);
        expect(await store.authorities.switchTo('ca-new', T0 + 1000)).toBe(true);
        expect((await store.authorities.list()).some((a) => a.rotating)).toBe(false);
        // One that signs at once is over in the same transaction: the next may start.
        expect(await store.authorities.startRotation(authority('ca-now', T0 + 2000), true)).toBe(true);
        expect((await store.authorities.list()).map((a) => [a.id, a.retiredAt, a.rotating])).toEqual([
          ['ca-now', undefined, undefined],
          ['ca-new', T0 + 2000, undefined],
          ['ca-old', T0 + 1000, undefined],
        ]);
        expect(await store.authorities.startRotation(authority('ca-next', T0 + 9000), false)).toBe(true);
      });

      it('writes a lapsed grace period down once, with its audit event, and not before it lapsed', async () => {
        await store.authorities.addFirst(authority('ca-old', T0));
        await store.authorities.startRotation(authority('ca-new', T0 + 5000), false);
        expect(await store.authorities.closeLapsedRotation('ca-new', lapse('ca-new', T0 + 4999))).toBe(false);
        expect(await store.authorities.closeLapsedRotation('ca-old', lapse('ca-old', T0 + 6000))).toBe(false);
        const tries = await Promise.all(
          [1, 2, 3].map(() => store.authorities.closeLapsedRotation('ca-new', lapse('ca-new', T0 + 6000))),
        );
        expect(tries.filter(Boolean)).toEqual([true]);
        expect((await store.authorities.list()).map((a) => [a.id, a.createdAt, a.retiredAt, a.rotating])).toEqual([
          ['ca-new', T0 + 5000, undefined, undefined],
          ['ca-old', T0, T0 + 5000, undefined],
        ]);
        const events = await store.audit.list({ kind: 'pki.rotation', limit: 10 });
        expect(events.map((e) => [e.code, e.message])).toEqual([['pki.grace_lapsed', 'grace period of ca-new lapsed']]);
      });
    });
  });
}

/** Polls until `check` holds (5 s at most). */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}
