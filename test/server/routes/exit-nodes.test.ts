import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PrefixView } from '../../../protocol/admin.ts';
import { RawMapStream } from '../../support/router-agent.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

const POLICY = `{
  "groups": { "group:travel": ["alice@example.com"] },
  "tagOwners": { "tag:exit": ["alice@example.com"] },
  "autoApprovers": { "exitNode": ["tag:exit"] },
  "acls": [
    { "action": "accept", "src": ["*"], "dst": ["*:*"] },
    { "action": "accept", "src": ["group:travel"], "dst": ["autogroup:internet:*"] },
  ],
}`;

describe('exit nodes', () => {
  let t: TestServer;
  const agents: TestAgent[] = [];
  const streams: RawMapStream[] = [];
  const exitNode = async () => {
    const a = new TestAgent(t.url, 'egress');
    agents.push(a);
    await a.control.register({
      wireguardKey: a.wireguard.publicKey,
      hostname: 'egress',
      credential: { type: 'preauth-key', key: await t.preAuthKey({ tags: ['tag:exit'] }) },
      advertiseRoutes: ['0.0.0.0/0', '::/0'],
    });
    const s = await RawMapStream.open(a);
    streams.push(s);
    return s;
  };
  const user = async (email: string, name: string) => {
    const a = new TestAgent(t.url, name);
    agents.push(a);
    await a.join(await t.preAuthKey({ user: email }));
    return a.connect();
  };
  const egressOf = (a: TestAgent) => [...a.map.peers.values()].find((p) => p.name === 'egress');

  beforeEach(async () => {
    t = await startTestServer();
    await t.setPolicy(POLICY);
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) a.stop();
    for (const s of streams.splice(0)) s.close();
    await t.stop();
  });

  it('offers the exit routes only to the nodes autogroup:internet lets use the exit node, never in allowedIPs', async () => {
    const egress = await exitNode();
    const alice = await user('alice@example.com', 'alice-laptop');
    const bob = await user('bob@example.com', 'bob-laptop');
    await alice.until((a) => egressOf(a) !== undefined, 'egress in alice map');
    await bob.until((a) => egressOf(a) !== undefined, 'egress in bob map');
    expect(egressOf(alice)!.exitRoutes).toEqual(['0.0.0.0/0', '::/0']);
    expect(egressOf(bob)!.exitRoutes).toBeUndefined();
    for (const a of [alice, bob]) {
      expect(egressOf(a)!.allowedIPs).not.toContain('0.0.0.0/0');
      expect(egressOf(a)!.primaryRoutes).toBeUndefined();
    }

    // The exit node's filter lets exactly alice's addresses out to the internet.
    const internetRules = egress.state.packetFilter.filter((r) => r.dstPorts.some((d) => d.ip.startsWith('8.')));
    const sources = internetRules.flatMap((r) => r.srcIPs);
    expect(sources).toContain(alice.map.self!.ipv4);
    expect(sources).not.toContain(bob.map.self!.ipv4);
    expect(egress.state.self!.routes!.map((r) => [r.prefix, r.role])).toEqual([
      ['0.0.0.0/0', 'primary'],
      ['::/0', 'primary'],
    ]);
  });

  it('follows a policy change: a node that gains autogroup:internet is offered the exit node, one that loses it is not', async () => {
    await exitNode();
    const alice = await user('alice@example.com', 'alice-laptop');
    const bob = await user('bob@example.com', 'bob-laptop');
    await bob.until((a) => egressOf(a) !== undefined, 'egress in bob map');
    await t.setPolicy(POLICY.replace('"group:travel": ["alice@example.com"]', '"group:travel": ["bob@example.com"]'));
    await bob.until((a) => egressOf(a)?.exitRoutes !== undefined, 'bob offered the exit node');
    await alice.until((a) => egressOf(a) !== undefined && egressOf(a)!.exitRoutes === undefined, 'alice no longer');
  });

  it('keeps offering an offline exit node, marked offline, so the client can say so and keep blocking', async () => {
    const egress = await exitNode();
    const alice = await user('alice@example.com', 'alice-laptop');
    await alice.until((a) => egressOf(a)?.online === true, 'egress online');
    egress.close();
    await alice.until((a) => egressOf(a)?.online === false, 'egress offline');
    expect(egressOf(alice)!.exitRoutes).toEqual(['0.0.0.0/0', '::/0']);
  });

  it('lists exit routes in the routes view, not elected', async () => {
    await exitNode();
    const items = (await t.admin<{ items: PrefixView[] }>('GET', '/api/v1/routes')).body.items;
    expect(items.map((p) => [p.prefix, p.exitNode, p.primary, p.routers.map((r) => r.role)])).toEqual([
      ['0.0.0.0/0', true, undefined, ['primary']],
      ['::/0', true, undefined, ['primary']],
    ]);
  });
});
