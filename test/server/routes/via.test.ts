import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RawMapStream } from '../../support/router-agent.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

const POLICY = `{
  "tagOwners": { "tag:router-eu": ["admin@example.com"], "tag:router-us": ["admin@example.com"] },
  "autoApprovers": { "routes": { "10.5.0.0/16": ["tag:router-eu", "tag:router-us"] } },
  "grants": [
    { "src": ["alice@example.com"], "dst": ["10.5.0.0/16"], "ip": ["*"], "via": ["tag:router-eu"] },
    { "src": ["bob@example.com"], "dst": ["10.5.0.0/16"], "ip": ["tcp:443"], "via": ["tag:router-us"] },
  ],
}`;

describe('grants with via', () => {
  let t: TestServer;
  const agents: TestAgent[] = [];
  const routers = new Map<string, RawMapStream>();
  const router = async (name: string, tag: string) => {
    const a = new TestAgent(t.url, name);
    agents.push(a);
    await a.control.register({
      wireguardKey: a.wireguard.publicKey,
      hostname: name,
      credential: { type: 'preauth-key', key: await t.preAuthKey({ tags: [tag] }) },
      advertiseRoutes: ['10.5.0.0/16'],
    });
    const s = await RawMapStream.open(a);
    routers.set(name, s);
    return s;
  };
  const user = async (email: string) => {
    const a = new TestAgent(t.url, email.split('@')[0]!);
    agents.push(a);
    await a.join(await t.preAuthKey({ user: email }));
    return a.connect();
  };
  const carriers = (a: TestAgent) =>
    [...a.map.peers.values()].filter((p) => p.primaryRoutes?.includes('10.5.0.0/16')).map((p) => p.name);

  beforeEach(async () => {
    t = await startTestServer();
    await t.setPolicy(POLICY);
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) a.stop();
    for (const s of routers.values()) s.close();
    routers.clear();
    await t.stop();
  });

  it('routes each source through a router with the grant`s via tag, whichever is the elected primary', async () => {
    await router('eu-1', 'tag:router-eu');
    await router('us-1', 'tag:router-us');
    const alice = await user('alice@example.com');
    const bob = await user('bob@example.com');
    await alice.until((a) => carriers(a).length === 1, 'alice routed');
    await bob.until((a) => carriers(a).length === 1, 'bob routed');
    expect(carriers(alice)).toEqual(['eu-1']);
    expect(carriers(bob)).toEqual(['us-1']);
    // Each source sees only the routers its grant names.
    expect(alice.peerNames()).toEqual(['eu-1']);
    expect(bob.peerNames()).toEqual(['us-1']);
    const aliceIp = alice.map.self!.ipv4;
    const bobIp = bob.map.self!.ipv4;
    const sourcesOn = (name: string) => routers.get(name)!.state.packetFilter.flatMap((r) => r.srcIPs);
    // The routers' filters arrive on their own streams, not always before the users' maps.
    await routers.get('eu-1')!.until(() => sourcesOn('eu-1').includes(aliceIp), "alice in eu-1's filter");
    await routers.get('us-1')!.until(() => sourcesOn('us-1').includes(bobIp), "bob in us-1's filter");
    expect(sourcesOn('eu-1')).toContain(aliceIp);
    expect(sourcesOn('eu-1')).not.toContain(bobIp);
    expect(sourcesOn('us-1')).toContain(bobIp);
    expect(sourcesOn('us-1')).not.toContain(aliceIp);
  });

  it('fails over among the via routers only', async () => {
    const eu1 = await router('eu-1', 'tag:router-eu');
    await router('eu-2', 'tag:router-eu');
    await router('us-1', 'tag:router-us');
    const alice = await user('alice@example.com');
    await alice.until((a) => carriers(a)[0] === 'eu-1', 'eu-1 carries');
    eu1.close();
    await alice.until((a) => carriers(a)[0] === 'eu-2', 'eu-2 carries');
    expect(carriers(alice)).toEqual(['eu-2']);
  });
});
