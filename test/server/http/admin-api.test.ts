import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ApiKeyView,
  IssuedApiKey,
  IssuedPreAuthKey,
  NodeView,
  PolicyView,
  PreAuthKeyView,
  UserView,
  listOf,
} from '../../../protocol/admin.ts';
import { ALLOW_ALL_POLICY, readTopology } from '../../../policy/index.ts';
import { PolicyTopology } from '../../../protocol/policy-topology.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';
import { expectRefused, send } from './requests.ts';

const TAG_POLICY = `{
  // alice may tag her machines as web servers; everyone reaches web servers.
  "tagOwners": {"tag:web": ["alice@example.com"], "tag:db": ["alice@example.com"]},
  "acls": [
    {"action": "accept", "src": ["*"], "dst": ["tag:web:*"]},
  ],
}
`;

describe('admin API', () => {
  let ts: TestServer;
  const agents: TestAgent[] = [];
  const agent = (name: string) => {
    const a = new TestAgent(ts.url, name);
    agents.push(a);
    return a;
  };
  /** An admin call that must succeed, checked against the response schema. */
  async function ok<T>(schema: z.ZodType<T>, method: string, path: string, body?: unknown, status = 200): Promise<T> {
    const res = await ts.admin(method, path, body);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return schema.parse(res.body);
  }
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  beforeAll(async () => {
    ts = await startTestServer();
  });
  afterEach(() => {
    for (const a of agents.splice(0)) a.stop();
  });
  afterAll(async () => {
    await ts?.stop();
  });

  describe('users', () => {
    it('creates a user (email lower-cased, name defaulting to the email) and lists it', async () => {
      const u = await ok(UserView, 'POST', '/api/v1/users', { email: 'Frank@Example.com', groups: ['eng'] }, 201);
      expect(u).toMatchObject({ email: 'frank@example.com', displayName: 'Frank@Example.com', groups: ['eng'] });
      const { items } = await ok(listOf(UserView), 'GET', '/api/v1/users');
      // The list adds each user's machines: none yet.
      expect(items.find((x) => x.id === u.id)).toEqual({ ...u, machines: [] });
    });

    it('creating the same email again updates that user rather than making a second', async () => {
      const first = await ok(UserView, 'POST', '/api/v1/users', { email: 'gina@example.com', groups: ['eng'] }, 201);
      const again = await ok(
        UserView,
        'POST',
        '/api/v1/users',
        { email: 'gina@example.com', displayName: 'Gina', groups: ['ops'] },
        201,
      );
      expect(again).toMatchObject({ id: first.id, displayName: 'Gina', groups: ['ops'] });
      const { items } = await ok(listOf(UserView), 'GET', '/api/v1/users');
      expect(items.filter((x) => x.email === 'gina@example.com')).toHaveLength(1);
    });

    it('deleting a user deletes their nodes and keys, and takes the nodes out of the network', async () => {
      const hank = await ts.preAuthKey({ user: 'hank@example.com', reusable: true });
      const a = agent('hank-laptop');
      const node = await a.join(hank);
      const watcher = agent('hank-watcher');
      await watcher.join(await ts.preAuthKey({ user: 'ivy@example.com' }));
      watcher.connect();
      await watcher.until((w) => w.peerNames().includes('hank-laptop'), 'hank-laptop to appear');

      const { items } = await ok(listOf(UserView), 'GET', '/api/v1/users');
      const user = items.find((u) => u.email === 'hank@example.com')!;
      expect((await ts.admin('DELETE', `/api/v1/users/${user.id}`)).status).toBe(204);

      expectRefused(
        await send(ts.url, 'GET', `/api/v1/nodes/${node.id}`, { headers: bearer(ts.adminKey) }),
        404,
        'node.not_found',
      );
      const keys = await ok(listOf(PreAuthKeyView), 'GET', '/api/v1/preauth-keys');
      expect(keys.items.filter((k) => k.user === 'hank@example.com')).toEqual([]);
      expect((await ok(listOf(UserView), 'GET', '/api/v1/users')).items.map((u) => u.email)).not.toContain(
        'hank@example.com',
      );
      await watcher.until((w) => !w.peerNames().includes('hank-laptop'), 'hank-laptop to leave');
    });
  });

  describe('nodes', () => {
    it('lists and gets nodes with their addresses, owner and keys', async () => {
      const a = agent('kate-desk');
      const self = await a.join(await ts.preAuthKey({ user: 'kate@example.com' }));
      const { items } = await ok(listOf(NodeView), 'GET', '/api/v1/nodes');
      const listed = items.find((n) => n.id === self.id)!;
      expect(listed).toMatchObject({
        name: 'kate-desk',
        user: 'kate@example.com',
        ipv4: self.ipv4,
        ipv6: self.ipv6,
        machineKey: a.machine.publicKey,
        wireguardKey: a.wireguard.publicKey,
        online: false,
        ephemeral: false,
      });
      expect(await ok(NodeView, 'GET', `/api/v1/nodes/${self.id}`)).toEqual(listed);
    });

    it('shows a node as online while its map stream is open', async () => {
      const a = agent('online-box');
      const self = await a.join(await ts.preAuthKey({ user: 'kate@example.com' }));
      a.connect();
      await a.until((x) => x.map.version >= 0, 'a map');
      expect((await ok(NodeView, 'GET', `/api/v1/nodes/${self.id}`)).online).toBe(true);
    });

    it('deletes a node: it is gone, its stream ends with a goodbye, and it can no longer call in', async () => {
      const a = agent('doomed');
      const self = await a.join(await ts.preAuthKey({ user: 'kate@example.com' }));
      a.connect();
      await a.until((x) => x.map.version >= 0, 'a map');
      expect((await ts.admin('DELETE', `/api/v1/nodes/${self.id}`)).status).toBe(204);
      await a.until((x) => x.goodbye !== undefined, 'a goodbye');
      expectRefused(
        await send(ts.url, 'GET', `/api/v1/nodes/${self.id}`, { headers: bearer(ts.adminKey) }),
        404,
        'node.not_found',
      );
      await expect(a.control.self()).rejects.toMatchObject({ code: 'node.unknown', status: 401 });
    });

    it('expires a node: it may no longer call in until it signs in again, which renews it', async () => {
      const a = agent('expiring');
      const key = await ts.preAuthKey({ user: 'kate@example.com', reusable: true });
      const self = await a.join(key);
      const expired = await ok(NodeView, 'POST', `/api/v1/nodes/${self.id}/expire`);
      expect(Date.parse(expired.expiresAt!)).toBeLessThanOrEqual(Date.now());
      await expect(a.control.self()).rejects.toMatchObject({ code: 'node.expired', status: 401 });

      const renewed = await a.join(key);
      expect(renewed).toMatchObject({ id: self.id, ipv4: self.ipv4, ipv6: self.ipv6 });
      expect((await a.control.self()).id).toBe(self.id);
      expect((await ok(NodeView, 'GET', `/api/v1/nodes/${self.id}`)).expiresAt).toBeUndefined();
    });

    it('renames a node; the new name must be a free DNS label', async () => {
      const a = agent('oldname');
      const self = await a.join(await ts.preAuthKey({ user: 'kate@example.com' }));
      const renamed = await ok(NodeView, 'POST', `/api/v1/nodes/${self.id}/rename`, { name: 'newname' });
      expect(renamed.name).toBe('newname');
      expect((await a.control.self()).name).toBe('newname');
      const bad = await ts.admin<any>('POST', `/api/v1/nodes/${self.id}/rename`, { name: 'New Name' });
      expect([bad.status, bad.body.code, bad.body.where]).toEqual([400, 'node.bad_name', 'body.name']);
    });

    it('tags a node with tags the policy defines, and clears them', async () => {
      await ts.setPolicy(TAG_POLICY);
      const a = agent('tag-me');
      const self = await a.join(await ts.preAuthKey({ user: 'alice@example.com' }));
      const tagged = await ok(NodeView, 'POST', `/api/v1/nodes/${self.id}/tags`, {
        tags: ['tag:web', 'tag:db', 'tag:web'],
      });
      expect(tagged.tags).toEqual(['tag:db', 'tag:web']);
      const cleared = await ok(NodeView, 'POST', `/api/v1/nodes/${self.id}/tags`, { tags: [] });
      expect(cleared.tags).toEqual([]);
      const undefinedTag = await ts.admin<any>('POST', `/api/v1/nodes/${self.id}/tags`, { tags: ['tag:nope'] });
      expect([undefinedTag.status, undefinedTag.body.code]).toEqual([400, 'tag.undefined']);
      expect(undefinedTag.body.message).toContain('tag:nope');
    });

    it('approves advertised routes, and peers then route them to the node', async () => {
      await ts.setPolicy(ALLOW_ALL_POLICY);
      const router = agent('router');
      const self = await router.join(await ts.preAuthKey({ user: 'kate@example.com' }), {
        advertiseRoutes: ['10.42.0.0/16', '10.43.0.0/16'],
      });
      // Online: an approved route is routed only to a router that can carry it.
      router.connect();
      expect(self.approvedRoutes).toEqual([]);
      const peer = agent('route-user');
      await peer.join(await ts.preAuthKey({ user: 'kate@example.com' }));
      peer.connect();

      const approved = await ok(NodeView, 'POST', `/api/v1/nodes/${self.id}/routes`, { routes: ['10.42.0.0/16'] });
      expect(approved).toMatchObject({
        advertisedRoutes: ['10.42.0.0/16', '10.43.0.0/16'],
        approvedRoutes: ['10.42.0.0/16'],
      });
      await peer.until(
        (p) => p.map.peers.get(self.id)?.allowedIPs.includes('10.42.0.0/16') === true,
        'the approved route',
      );
      expect(peer.map.peers.get(self.id)!.allowedIPs).not.toContain('10.43.0.0/16');

      const notAdvertised = await ts.admin<any>('POST', `/api/v1/nodes/${self.id}/routes`, {
        routes: ['192.168.0.0/24'],
      });
      expect([notAdvertised.status, notAdvertised.body.code]).toEqual([400, 'route.not_advertised']);
    });

    it('answers 404 node.not_found for every action on a node that does not exist', async () => {
      for (const [method, path, body] of [
        ['GET', '/api/v1/nodes/n-missing', undefined],
        ['POST', '/api/v1/nodes/n-missing/expire', undefined],
        ['POST', '/api/v1/nodes/n-missing/rename', { name: 'x' }],
        ['POST', '/api/v1/nodes/n-missing/tags', { tags: [] }],
        ['POST', '/api/v1/nodes/n-missing/routes', { routes: [] }],
      ] as const) {
        const res = await ts.admin<any>(method, path, body);
        expect([res.status, res.body.code], `${method} ${path}`).toEqual([404, 'node.not_found']);
      }
    });
  });

  describe('pre-auth keys', () => {
    it('shows the secret once, at creation; the list never shows it', async () => {
      await ts.server.users.create({ email: 'lena@example.com', groups: [] });
      const issued = await ok(
        IssuedPreAuthKey,
        'POST',
        '/api/v1/preauth-keys',
        { user: 'lena@example.com', reusable: true, description: 'lab' },
        201,
      );
      expect(issued.secret).toMatch(/^trellis-auth-[a-z0-9]{16}-[A-Za-z0-9_-]{43}$/);
      expect(issued.key).toMatchObject({
        user: 'lena@example.com',
        reusable: true,
        ephemeral: false,
        usedCount: 0,
        revoked: false,
        description: 'lab',
      });
      expect(Date.parse(issued.key.expiresAt) - Date.now()).toBeGreaterThan(3_500_000);

      const list = await send(ts.url, 'GET', '/api/v1/preauth-keys', { headers: bearer(ts.adminKey) });
      expect(list.status).toBe(200);
      expect(list.text).not.toContain(issued.secret.split('-').slice(3).join('-'));
      expect(list.text).not.toMatch(/secret/i);
      const listed = listOf(PreAuthKeyView)
        .parse(list.json)
        .items.find((k) => k.id === issued.key.id);
      expect(listed).toEqual(issued.key);
    });

    it("finds the key's user whatever the case of the email", async () => {
      const issued = await ok(IssuedPreAuthKey, 'POST', '/api/v1/preauth-keys', { user: 'Lena@Example.COM' }, 201);
      expect(issued.key.user).toBe('lena@example.com');
    });

    it('counts uses, and a revoked key shows as revoked', async () => {
      const secret = await ts.preAuthKey({ user: 'lena@example.com', reusable: true });
      const id = secret.split('-')[2]!;
      await agent('lena-1').join(secret);
      await agent('lena-2').join(secret);
      const find = async () =>
        (await ok(listOf(PreAuthKeyView), 'GET', '/api/v1/preauth-keys')).items.find((k) => k.id === id)!;
      expect((await find()).usedCount).toBe(2);
      expect((await ts.admin('DELETE', `/api/v1/preauth-keys/${id}`)).status).toBe(204);
      expect((await find()).revoked).toBe(true);
      await expect(agent('lena-3').join(secret)).rejects.toMatchObject({ code: 'preauth_key.revoked' });
    });

    it('tagged keys make tagged, ownerless nodes; ephemeral keys make ephemeral nodes', async () => {
      await ts.setPolicy(TAG_POLICY);
      const issued = await ok(
        IssuedPreAuthKey,
        'POST',
        '/api/v1/preauth-keys',
        { tags: ['tag:web'], ephemeral: true },
        201,
      );
      expect(issued.key).toMatchObject({ tags: ['tag:web'], ephemeral: true });
      expect(issued.key.user).toBeUndefined();
      const self = await agent('web-1').join(issued.secret);
      expect(self).toMatchObject({ tags: ['tag:web'], ephemeral: true });
      expect(self.user).toBeUndefined();
    });
  });

  describe('API keys and scopes', () => {
    it('shows the secret once; the list never shows it; a use is recorded', async () => {
      const issued = await ok(
        IssuedApiKey,
        'POST',
        '/api/v1/api-keys',
        { scopes: ['read'], description: 'dashboard' },
        201,
      );
      expect(issued.secret).toMatch(/^trellis-api-[a-z0-9]{16}-[A-Za-z0-9_-]{43}$/);
      expect(issued.key).toMatchObject({ scopes: ['read'], description: 'dashboard', revoked: false });
      expect(issued.key.expiresAt).toBeUndefined();
      expect((await send(ts.url, 'GET', '/api/v1/nodes', { headers: bearer(issued.secret) })).status).toBe(200);

      const list = await send(ts.url, 'GET', '/api/v1/api-keys', { headers: bearer(ts.adminKey) });
      expect(list.text).not.toContain(issued.secret.split('-').slice(3).join('-'));
      expect(list.text).not.toMatch(/secret/i);
      const listed = listOf(ApiKeyView)
        .parse(list.json)
        .items.find((k) => k.id === issued.key.id)!;
      expect(listed.lastUsedAt).toBeDefined();
    });

    it('a read key can list but not change anything', async () => {
      const { secret } = await ok(IssuedApiKey, 'POST', '/api/v1/api-keys', { scopes: ['read'] }, 201);
      const self = await agent('read-target').join(await ts.preAuthKey({ user: 'kate@example.com' }));
      for (const path of [
        '/api/v1/nodes',
        `/api/v1/nodes/${self.id}`,
        '/api/v1/users',
        '/api/v1/preauth-keys',
        '/api/v1/policy',
      ]) {
        expect((await send(ts.url, 'GET', path, { headers: bearer(secret) })).status, path).toBe(200);
      }
      const del = await send(ts.url, 'DELETE', `/api/v1/nodes/${self.id}`, { headers: bearer(secret) });
      expect(expectRefused(del, 403, 'api_key.scope').message).toContain('"nodes"');
      expect((await ts.admin('GET', `/api/v1/nodes/${self.id}`)).status).toBe(200);
      const put = await send(ts.url, 'PUT', '/api/v1/policy', {
        headers: { ...bearer(secret), 'content-type': 'application/json' },
        body: JSON.stringify({ policy: TAG_POLICY }),
      });
      expectRefused(put, 403, 'api_key.scope');
      // Listing API keys needs admin: a read key may not see who else holds keys.
      expectRefused(await send(ts.url, 'GET', '/api/v1/api-keys', { headers: bearer(secret) }), 403, 'api_key.scope');
    });

    it('a nodes key may delete nodes but not create users', async () => {
      const { secret } = await ok(IssuedApiKey, 'POST', '/api/v1/api-keys', { scopes: ['nodes'] }, 201);
      const self = await agent('nodes-target').join(await ts.preAuthKey({ user: 'kate@example.com' }));
      expect((await send(ts.url, 'DELETE', `/api/v1/nodes/${self.id}`, { headers: bearer(secret) })).status).toBe(204);
      const res = await send(ts.url, 'POST', '/api/v1/users', {
        headers: { ...bearer(secret), 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'x@example.com' }),
      });
      expectRefused(res, 403, 'api_key.scope');
    });

    it('a revoked key stops working at once', async () => {
      const issued = await ok(
        IssuedApiKey,
        'POST',
        '/api/v1/api-keys',
        { scopes: ['read'], expiresInSeconds: 3600 },
        201,
      );
      expect(issued.key.expiresAt).toBeDefined();
      expect((await send(ts.url, 'GET', '/api/v1/nodes', { headers: bearer(issued.secret) })).status).toBe(200);
      expect((await ts.admin('DELETE', `/api/v1/api-keys/${issued.key.id}`)).status).toBe(204);
      expectRefused(
        await send(ts.url, 'GET', '/api/v1/nodes', { headers: bearer(issued.secret) }),
        401,
        'api_key.revoked',
      );
      const listed = (await ok(listOf(ApiKeyView), 'GET', '/api/v1/api-keys')).items.find(
        (k) => k.id === issued.key.id,
      )!;
      expect(listed.revoked).toBe(true);
    });
  });

  describe('policy', () => {
    // A fresh server: the policy history must start from the starter.
    let fresh: TestServer;
    beforeAll(async () => {
      fresh = await startTestServer();
    });
    afterAll(async () => {
      await fresh?.stop();
    });

    it('runs the allow-all starter until a policy is set, and says so', async () => {
      const res = await fresh.admin('GET', '/api/v1/policy');
      const p = PolicyView.parse(res.body);
      expect(p).toMatchObject({ version: 1, starter: true });
      expect(p.warning).toMatch(/allow/i);
      expect(p.text).toContain('"acls"');
    });

    it('checks a policy without applying it', async () => {
      const good = await fresh.admin<any>('POST', '/api/v1/policy/check', { policy: TAG_POLICY });
      expect([good.status, good.body]).toEqual([
        200,
        { ok: true, rules: 1, tests: { passed: 0, failed: 0, results: [] } },
      ]);
      const bad = await fresh.admin<any>('POST', '/api/v1/policy/check', { policy: '{"acls": [{"action": "allow"}]}' });
      expect([bad.status, bad.body.code]).toEqual([400, 'policy.invalid']);
      expect(bad.body.where).toMatch(/^policy\.hujson:\d+:\d+$/);
      expect(PolicyView.parse((await fresh.admin('GET', '/api/v1/policy')).body).version).toBe(1);
    });

    it('sets a policy: a new version, no longer the starter, the warning gone', async () => {
      const res = await fresh.admin('PUT', '/api/v1/policy', { policy: TAG_POLICY, ifVersion: 1 });
      expect(res.status).toBe(200);
      const p = PolicyView.parse(res.body);
      expect(p).toMatchObject({ version: 2, starter: false, text: TAG_POLICY });
      expect(p.author).toMatch(/^api-key:/);
      expect(p.warning).toBeUndefined();
      expect(PolicyView.parse((await fresh.admin('GET', '/api/v1/policy')).body)).toEqual(p);
    });

    it('refuses a stale ifVersion with 409, and the current policy stays active', async () => {
      const before = PolicyView.parse((await fresh.admin('GET', '/api/v1/policy')).body);
      const res = await fresh.admin<any>('PUT', '/api/v1/policy', {
        policy: '{"acls": []}',
        ifVersion: before.version - 1,
      });
      expect([res.status, res.body.code, res.body.where]).toEqual([409, 'policy.version_conflict', 'body.ifVersion']);
      expect(res.body.message).toContain(String(before.version));
      expect(PolicyView.parse((await fresh.admin('GET', '/api/v1/policy')).body)).toEqual(before);
      const next = await fresh.admin('PUT', '/api/v1/policy', { policy: '{"acls": []}', ifVersion: before.version });
      expect(PolicyView.parse(next.body).version).toBe(before.version + 1);
    });

    it('a rejected policy changes nothing and names every problem', async () => {
      const before = PolicyView.parse((await fresh.admin('GET', '/api/v1/policy')).body);
      const res = await fresh.admin<any>('PUT', '/api/v1/policy', {
        policy:
          '{\n  "acls": [\n    {"action": "accept", "src": ["group:ghosts"], "dst": ["tag:nowhere:*"]},\n  ],\n}\n',
      });
      expect([res.status, res.body.code]).toEqual([400, 'policy.invalid']);
      expect(res.body.details.length).toBeGreaterThanOrEqual(1);
      for (const d of res.body.details) expect(d.where).toMatch(/^policy\.hujson:\d+:\d+$/);
      expect(PolicyView.parse((await fresh.admin('GET', '/api/v1/policy')).body)).toEqual(before);
    });

    it('answers the topology the policy sees: identities, addresses, routes and the mesh ranges', async () => {
      await fresh.setPolicy(TAG_POLICY);
      const laptop = new TestAgent(fresh.url, 'lena-laptop');
      const web = new TestAgent(fresh.url, 'web-1');
      agents.push(laptop, web);
      const l = await laptop.join(await fresh.preAuthKey({ user: 'lena@example.com' }));
      const w = await web.join(await fresh.preAuthKey({ tags: ['tag:web'] }), { advertiseRoutes: ['10.9.0.0/16'] });
      const reader = await fresh.server.keys.createApiKey({ scopes: ['read'], description: 'topology reader' });
      const res = await send(fresh.url, 'GET', '/api/v1/policy/topology', { headers: bearer(reader.secret) });
      expect(res.status).toBe(200);
      const topology = PolicyTopology.parse(res.json);
      expect(topology.mesh?.include).toEqual(['100.64.0.0/10', 'fd7a:115c:a1e0::/48']);
      expect(topology.nodes).toEqual({
        'lena-laptop': {
          user: 'lena@example.com',
          idpGroups: [],
          tags: [],
          ipv4: l.ipv4,
          ipv6: l.ipv6,
          routableIPs: [],
          approvedRoutes: [],
        },
        // A tagged node has no user identity, whoever created it.
        'web-1': { tags: ['tag:web'], ipv4: w.ipv4, ipv6: w.ipv6, routableIPs: ['10.9.0.0/16'], approvedRoutes: [] },
      });
      // The answer is a topology file as `trellis policy --topology` reads it.
      const read = readTopology(res.json);
      expect(read.ok && read.nodes.map((n) => n.name).sort()).toEqual(['lena-laptop', 'web-1']);
      const policyOnly = await fresh.server.keys.createApiKey({ scopes: ['policy'], description: 'no read' });
      expectRefused(
        await send(fresh.url, 'GET', '/api/v1/policy/topology', { headers: bearer(policyOnly.secret) }),
        403,
        'api_key.scope',
      );
    });

    it("names the uploader's file in every diagnostic", async () => {
      const text = '{\n  "acls": [{"action": "accept", "src": ["group:ghosts"], "dst": ["*:*"]}],\n}\n';
      for (const [method, path] of [
        ['POST', '/api/v1/policy/check'],
        ['PUT', '/api/v1/policy'],
      ] as const) {
        const res = await fresh.admin<any>(method, path, { policy: text, fileName: 'policies/prod.hujson' });
        expect([res.status, res.body.code, res.body.where]).toEqual([
          400,
          'policy.invalid',
          'policies/prod.hujson:2:41',
        ]);
        expect(res.body.message).toContain('policies/prod.hujson:2:41: ');
        for (const d of res.body.details) expect(d.where).toMatch(/^policies\/prod\.hujson:\d+:\d+$/);
      }
    });

    it('refuses a file name that is not one line of printable text', async () => {
      for (const fileName of ['', 'a\nb.hujson', 'evil\u001b[2J.hujson', 'x'.repeat(256)]) {
        const res = await fresh.admin<any>('POST', '/api/v1/policy/check', { policy: '{}', fileName });
        expect([res.status, res.body.code, res.body.where], JSON.stringify(fileName)).toEqual([
          400,
          expect.any(String),
          'body.fileName',
        ]);
      }
    });

    it('the policy survives a restart', async () => {
      const before = PolicyView.parse((await fresh.admin('GET', '/api/v1/policy')).body);
      const dir = fresh.dataDir;
      await fresh.server.close();
      const again = await startTestServer({}, dir);
      // From here on, stopping means stopping the restarted server and removing the directory.
      fresh = {
        ...again,
        stop: async () => {
          await again.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
      const after = PolicyView.parse((await again.admin('GET', '/api/v1/policy')).body);
      expect(after).toMatchObject({ version: before.version, text: before.text, starter: false });
      expect(after.warning).toBeUndefined();
    });
  });

  describe('OpenAPI document', () => {
    const ROUTES: Array<[string, string]> = [
      ['get', '/api/v1/users'],
      ['post', '/api/v1/users'],
      ['delete', '/api/v1/users/{id}'],
      ['get', '/api/v1/nodes'],
      ['get', '/api/v1/nodes/{id}'],
      ['delete', '/api/v1/nodes/{id}'],
      ['post', '/api/v1/nodes/{id}/expire'],
      ['post', '/api/v1/nodes/{id}/rename'],
      ['post', '/api/v1/nodes/{id}/tags'],
      ['post', '/api/v1/nodes/{id}/routes'],
      ['get', '/api/v1/preauth-keys'],
      ['post', '/api/v1/preauth-keys'],
      ['delete', '/api/v1/preauth-keys/{id}'],
      ['get', '/api/v1/api-keys'],
      ['post', '/api/v1/api-keys'],
      ['delete', '/api/v1/api-keys/{id}'],
      ['get', '/api/v1/policy'],
      ['put', '/api/v1/policy'],
      ['post', '/api/v1/policy/check'],
      ['get', '/api/v1/policy/topology'],
      ['post', '/api/v1/console/sign-in-links'],
      ['post', '/api/v1/policy/preview'],
      ['post', '/api/v1/policy/explain'],
      ['post', '/api/v1/policy/diff'],
      ['get', '/api/v1/policy/versions'],
      ['get', '/api/v1/policy/versions/{version}'],
      ['post', '/api/v1/policy/versions/{version}/revert'],
      ['get', '/api/v1/routes'],
      ['post', '/api/v1/machine/register'],
      ['get', '/api/v1/machine/self'],
      ['post', '/api/v1/machine/rotate-key'],
      ['post', '/api/v1/machine/update'],
      ['post', '/api/v1/machine/logout'],
      ['post', '/api/v1/machine/audit'],
      ['get', '/api/v1/machine/authorities'],
      ['post', '/api/v1/machine/certificate'],
      ['get', '/api/v1/authorities'],
      ['post', '/api/v1/authorities/rotate'],
      ['post', '/api/v1/authorities/finish'],
      ['get', '/api/v1/replicas'],
      ['get', '/api/v1/audit'],
      ['post', '/api/v1/users/{id}/expire-nodes'],
      ['get', '/api/v1/relay/info'],
      ['get', '/api/v1/console/providers'],
      ['get', '/api/v1/console/session'],
      ['delete', '/api/v1/console/session'],
      ['get', '/api/v1/console/events'],
    ];
    /** Public: no credential (and no security requirement in the document). */
    const PUBLIC = new Set(['/api/v1/relay/info', '/api/v1/console/providers']);

    it('is served without credentials as an OpenAPI 3.1 document', async () => {
      const res = await send(ts.url, 'GET', '/api/v1/openapi.json');
      expect(res.status).toBe(200);
      expect(res.json.openapi).toBe('3.1.0');
      expect(res.json.info.title).toMatch(/\S/);
      expect(res.json.servers[0].url).toBe(ts.url);
      expect(Object.keys(res.json.components.securitySchemes).sort()).toEqual([
        'apiKey',
        'consoleSession',
        'machineProof',
      ]);
    });

    it('lists every route, each with a summary, responses and its security', async () => {
      const doc = (await send(ts.url, 'GET', '/api/v1/openapi.json')).json;
      const listed = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
        .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
        .sort();
      expect(listed).toEqual(ROUTES.map(([m, p]) => `${m} ${p}`).sort());
      for (const [method, path] of ROUTES) {
        const op = doc.paths[path][method];
        expect(op.summary, `${method} ${path}`).toMatch(/\S/);
        expect(op.responses.default.content['application/json'].schema.properties).toHaveProperty('code');
        expect(op.security, `${method} ${path}`).toEqual(
          PUBLIC.has(path)
            ? undefined
            : path.startsWith('/api/v1/machine/')
              ? [{ machineProof: [] }]
              : path === '/api/v1/console/session'
                ? [{ consoleSession: [] }]
                : [{ apiKey: [expect.any(String)] }, { consoleSession: [expect.any(String)] }],
        );
        for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
          expect(op.parameters).toContainEqual(expect.objectContaining({ name, in: 'path', required: true }));
        }
      }
      expect(doc.paths['/api/v1/users'].post.requestBody.content['application/json'].schema.properties).toHaveProperty(
        'email',
      );
      expect(doc.paths['/api/v1/nodes/{id}'].delete.security).toEqual([
        { apiKey: ['nodes'] },
        { consoleSession: ['nodes'] },
      ]);
      expect(doc.paths['/api/v1/nodes'].get.security).toEqual([{ apiKey: ['read'] }, { consoleSession: ['read'] }]);
    });
  });

  describe('health and metrics', () => {
    it('/healthz answers 200 with the node count and policy version', async () => {
      const res = await send(ts.url, 'GET', '/healthz');
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        status: 'ok',
        nodes: expect.any(Number),
        connected: expect.any(Number),
        policyVersion: expect.any(Number),
      });
      expect(res.json.nodes).toBe(
        (await ts.server.store.nodes.list()).filter((n) => n.expiresAt === undefined || n.expiresAt > Date.now())
          .length,
      );
    });

    it('/metrics exposes connected nodes, map sends, queues and join latency in Prometheus format', async () => {
      const a = agent('metered');
      await a.join(await ts.preAuthKey({ user: 'kate@example.com' }));
      a.connect();
      await a.until((x) => x.map.version >= 0, 'a map');
      const res = await send(ts.url, 'GET', '/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const value = (name: string) => {
        const line = res.text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
        expect(line, name).toBeDefined();
        return Number(line!.split(' ').pop());
      };
      expect(value('trellis_connected_nodes')).toBe(ts.server.engine.connectedCount);
      expect(value('trellis_connected_nodes')).toBeGreaterThanOrEqual(1);
      expect(value('trellis_nodes')).toBeGreaterThanOrEqual(1);
      expect(value('trellis_map_sends_total')).toBeGreaterThanOrEqual(1);
      expect(value('trellis_join_duration_seconds_count')).toBeGreaterThanOrEqual(1);
      expect(res.text).toContain('trellis_map_queue_pending');
      expect(res.text).toContain('trellis_map_queue_bytes');
      expect(res.text).toContain('trellis_http_requests_total');
    });
  });
});
