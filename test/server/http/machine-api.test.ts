import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MachineKeyPair } from '../../../client/control/machine-key.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import { PreAuthKeyView, listOf } from '../../../protocol/admin.ts';
import { machineKeyUsableAsWireGuardKey } from '../../support/keys.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

/** The agent-facing control API, driven by real agents with real keys and signed requests. */
describe('machine API', () => {
  let ts: TestServer;
  const agents: TestAgent[] = [];
  const agent = (name: string, machine?: MachineKeyPair) => {
    const a = new TestAgent(ts.url, name, machine);
    agents.push(a);
    return a;
  };
  const usedCount = async (secret: string) => {
    const res = await ts.admin('GET', '/api/v1/preauth-keys');
    return listOf(PreAuthKeyView)
      .parse(res.body)
      .items.find((k) => k.id === secret.split('-')[2])!.usedCount;
  };

  beforeAll(async () => {
    ts = await startTestServer();
  });
  afterEach(() => {
    for (const a of agents.splice(0)) a.stop();
  });
  afterAll(async () => {
    await ts?.stop();
  });

  it('registers a machine: addresses from the mesh prefixes, its keys, its owner', async () => {
    const a = agent('laptop');
    const self = await a.join(await ts.preAuthKey({ user: 'mia@example.com' }));
    expect(self).toMatchObject({
      name: 'laptop',
      user: 'mia@example.com',
      machineKey: a.machine.publicKey,
      wireguardKey: a.wireguard.publicKey,
      tags: [],
      ephemeral: false,
      advertisedRoutes: [],
      approvedRoutes: [],
    });
    expect(self.ipv4).toMatch(/^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/);
    expect(self.ipv6).toMatch(/^fd7a:115c:a1e0:/);
    expect(self.addresses).toEqual([`${self.ipv4}/32`, `${self.ipv6}/128`]);
    expect(await a.control.self()).toMatchObject({ id: self.id, ipv4: self.ipv4 });
  });

  it('gives machines with the same hostname unique names', async () => {
    const key = await ts.preAuthKey({ user: 'mia@example.com', reusable: true });
    const names = [];
    for (let i = 0; i < 3; i++) names.push((await agent('Build.Example.com').join(key)).name);
    expect(names).toEqual(['build', 'build-2', 'build-3']);
  });

  it('a machine signing in again keeps its id, name and addresses', async () => {
    const key = await ts.preAuthKey({ user: 'mia@example.com', reusable: true });
    const a = agent('again');
    const first = await a.join(key);
    const second = await a.join(key);
    expect(second).toMatchObject({ id: first.id, name: first.name, ipv4: first.ipv4, ipv6: first.ipv6 });
  });

  it('a single-use key is used up by a machine signing in again, too', async () => {
    const reusable = await ts.preAuthKey({ user: 'mia@example.com', reusable: true });
    const once = await ts.preAuthKey({ user: 'mia@example.com' });
    const a = agent('relogin');
    await a.join(reusable);
    await a.join(once);
    expect(await usedCount(once)).toBe(1);
    await expect(agent('thief').join(once)).rejects.toMatchObject({ code: 'preauth_key.used', status: 401 });
    await expect(a.join(once)).rejects.toMatchObject({ code: 'preauth_key.used' });
  });

  it('rotates the WireGuard key: identity and addresses stay', async () => {
    // Most Ed25519 keys are no valid X25519 key at all; this one is, so only "the same key" is wrong.
    const a = agent('rotator', machineKeyUsableAsWireGuardKey());
    const before = await a.join(await ts.preAuthKey({ user: 'mia@example.com' }));
    const next = generateKeyPair();
    const after = await a.control.rotateKey(next.publicKey);
    expect(after).toMatchObject({ id: before.id, ipv4: before.ipv4, ipv6: before.ipv6, wireguardKey: next.publicKey });
    await expect(a.control.rotateKey(a.machine.publicKey)).rejects.toMatchObject({
      code: 'node.keys_same',
      status: 400,
    });
  });

  it('updates its endpoints and advertised routes', async () => {
    const a = agent('updater');
    await a.join(await ts.preAuthKey({ user: 'mia@example.com' }));
    const updated = await a.control.update({
      endpoints: ['192.0.2.7:41641', '[2001:db8::7]:41641'],
      advertiseRoutes: ['10.77.0.0/16'],
    });
    expect(updated.endpoints).toEqual(['192.0.2.7:41641', '[2001:db8::7]:41641']);
    expect(updated.advertisedRoutes).toEqual(['10.77.0.0/16']);
  });

  it('a new hostname is made unique like at registration, and an unchanged one keeps its name', async () => {
    const key = await ts.preAuthKey({ user: 'mia@example.com', reusable: true });
    const first = agent('web');
    await first.join(key);
    const second = agent('web');
    expect((await second.join(key)).name).toBe('web-2');
    // The agent reports the same hostname again: it keeps web-2, no conflict.
    expect((await second.control.update({ hostname: 'web' })).name).toBe('web-2');
    // A hostname another node holds: the next free name.
    const third = agent('db');
    await third.join(key);
    expect((await third.control.update({ hostname: 'web' })).name).toBe('web-3');
    expect((await third.control.update({ hostname: 'cache' })).name).toBe('cache');
  });

  it('logs out: the node is gone and can no longer call in', async () => {
    const a = agent('leaver');
    const self = await a.join(await ts.preAuthKey({ user: 'mia@example.com' }));
    await a.control.logout();
    expect((await ts.admin('GET', `/api/v1/nodes/${self.id}`)).status).toBe(404);
    await expect(a.control.self()).rejects.toMatchObject({ code: 'node.unknown', status: 401 });
  });

  it('refuses a tag the user may not apply, creating nothing', async () => {
    await ts.setPolicy(
      '{"tagOwners": {"tag:prod": ["admin@example.com"]}, "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}',
    );
    const before = (await ts.server.store.nodes.list()).length;
    const key = await ts.preAuthKey({ user: 'mia@example.com' });
    await expect(agent('sneaky').join(key, { advertiseTags: ['tag:prod'] })).rejects.toMatchObject({
      code: 'tag.not_owner',
      status: 403,
    });
    expect((await ts.server.store.nodes.list()).length).toBe(before);
    expect(await usedCount(key)).toBe(0);
  });
});
