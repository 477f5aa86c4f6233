import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Peer } from '../../../protocol/node.ts';
import { RawMapStream } from '../../support/router-agent.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

/**
 * A router's subnet routes go only to the viewers the policy lets traffic flow with them, as
 * `trellis policy compile` (policy/peer-routes.ts) and Tailscale send them: a node that may reach
 * the router itself, but nothing behind it, sees the router without its routes.
 */
const policy = (alsoOps: boolean) => `{
  "tagOwners": { "tag:router": [], "tag:dev": [], "tag:ops": [] },
  "autoApprovers": { "routes": { "10.1.0.0/16": ["tag:router"] } },
  "acls": [
    { "action": "accept", "src": ["tag:dev"${alsoOps ? ', "tag:ops"' : ''}], "dst": ["10.1.0.0/16:443"] },
    { "action": "accept", "src": ["tag:dev", "tag:ops"], "dst": ["tag:router:22"] },
  ],
}`;

describe('who is sent a subnet route', () => {
  let t: TestServer;
  const agents: TestAgent[] = [];
  let routerStream: RawMapStream | undefined;

  const node = async (name: string, tag: string) => {
    const a = new TestAgent(t.url, name);
    agents.push(a);
    await a.join(await t.preAuthKey({ tags: [tag] }));
    return a.connect();
  };
  const routerPeer = (a: TestAgent): Peer | undefined => [...a.map.peers.values()].find((p) => p.name === 'router');

  beforeEach(async () => {
    t = await startTestServer();
    await t.setPolicy(policy(false));
    const r = new TestAgent(t.url, 'router');
    agents.push(r);
    await r.control.register({
      wireguardKey: r.wireguard.publicKey,
      hostname: 'router',
      credential: { type: 'preauth-key', key: await t.preAuthKey({ tags: ['tag:router'] }) },
      advertiseRoutes: ['10.1.0.0/16'],
    });
    routerStream = await RawMapStream.open(r);
    await routerStream.until((s) => s.state.self?.routes?.[0]?.role === 'primary', 'the router elected');
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) a.stop();
    routerStream?.close();
    await t.stop();
  });

  it('sends the route to a viewer the policy lets reach it, and the router without it to one that may only reach the router', async () => {
    const dev = await node('dev', 'tag:dev');
    const ops = await node('ops', 'tag:ops');
    await dev.until((a) => routerPeer(a)?.primaryRoutes?.[0] === '10.1.0.0/16', 'dev routed');
    await ops.until((a) => routerPeer(a) !== undefined, 'ops sees the router');
    expect(routerPeer(dev)!.allowedIPs).toContain('10.1.0.0/16');
    expect(routerPeer(ops)!.primaryRoutes).toBeUndefined();
    expect(routerPeer(ops)!.allowedIPs).not.toContain('10.1.0.0/16');
  });

  it('follows policy changes: a viewer granted the route later gets it, and loses it when the grant goes', async () => {
    const ops = await node('ops', 'tag:ops');
    await ops.until((a) => routerPeer(a) !== undefined, 'ops sees the router');
    expect(routerPeer(ops)!.primaryRoutes).toBeUndefined();
    await t.setPolicy(policy(true));
    await ops.until((a) => routerPeer(a)?.primaryRoutes?.[0] === '10.1.0.0/16', 'ops routed once granted');
    await t.setPolicy(policy(false));
    await ops.until((a) => routerPeer(a) !== undefined && routerPeer(a)!.primaryRoutes === undefined, 'ops unrouted');
    expect(routerPeer(ops)!.allowedIPs).not.toContain('10.1.0.0/16');
  });
});
