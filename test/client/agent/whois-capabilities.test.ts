/**
 * From the policy to the answer a local service gets: a real server compiles an `app` grant, the
 * proxy node's map stream receives it, and whois over that map names the caller and the
 * capabilities it holds towards the proxy, while a node the grant does not name holds none and
 * is not even a peer.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { whois } from '../../../client/agent/whois.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

const POLICY = `{
  "groups": {"group:sre": ["alice@example.com"]},
  "tagOwners": {"tag:k8s": ["group:sre"], "tag:ci": ["group:sre"]},
  "grants": [
    {"src": ["group:sre"], "dst": ["tag:k8s"], "ip": ["tcp:443"]},
    {"src": ["group:sre"], "dst": ["tag:k8s"], "app": {"trellis.dev/cap/kubernetes": [{"impersonate": {"groups": ["sre"]}}]}},
    {"src": ["tag:ci"], "dst": ["tag:k8s"], "app": {"trellis.dev/cap/kubernetes": [{"impersonate": {"groups": ["deployers"]}}]}},
  ],
}`;

describe('whois with capabilities, through a real server', () => {
  let t: TestServer;
  const agents: TestAgent[] = [];
  const joined = async (name: string, opts: Parameters<TestServer['preAuthKey']>[0]) => {
    const a = new TestAgent(t.url, name);
    agents.push(a);
    await a.join(await t.preAuthKey(opts));
    return a.connect();
  };

  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) a.stop();
    await t.stop();
  });

  it("answers who the caller is and what the policy lets it do on this node, from this node's map", async () => {
    await t.server.users.create({ email: 'bob@example.com', groups: [] });
    const proxy = await joined('proxy', { tags: ['tag:k8s'] });
    const alice = await joined('alice-laptop', { user: 'alice@example.com' });
    const ci = await joined('ci', { tags: ['tag:ci'] });
    const bob = await joined('bob-laptop', { user: 'bob@example.com' });
    await t.setPolicy(POLICY);
    // The app-only grant alone makes ci and the proxy peers.
    await proxy.until((x) => x.peerNames().join() === 'alice-laptop,ci', 'proxy sees alice and ci');
    await ci.until((x) => x.peerNames().join() === 'proxy', 'ci sees the proxy');
    await bob.until((x) => x.map.version >= 0 && x.peerNames().length === 0, 'bob sees nobody');

    const ask = (ip: string) => whois(ip, proxy.map.self, proxy.map.peers.values(), proxy.map.packetFilter);
    const fromAlice = ask(alice.node!.ipv4);
    expect(fromAlice.node).toMatchObject({ name: 'alice-laptop', user: 'alice@example.com', tags: [] });
    expect(fromAlice.capMap).toEqual({ 'trellis.dev/cap/kubernetes': [{ impersonate: { groups: ['sre'] } }] });
    const fromCi = ask(ci.node!.ipv6);
    expect(fromCi.node).toMatchObject({ name: 'ci', tags: ['tag:ci'] });
    expect(fromCi.node.user).toBeUndefined();
    expect(fromCi.capMap).toEqual({ 'trellis.dev/cap/kubernetes': [{ impersonate: { groups: ['deployers'] } }] });
    // Bob is no peer of the proxy: the proxy's map does not know him at all.
    expect(() => ask(bob.node!.ipv4)).toThrow(expect.objectContaining({ code: 'agent.not_found' }));
  });
});
