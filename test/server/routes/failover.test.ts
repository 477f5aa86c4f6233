import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PrefixView } from '../../../protocol/admin.ts';
import type { AuditPage } from '../../../protocol/audit.ts';
import type { Peer } from '../../../protocol/node.ts';
import { RawMapStream } from '../../support/router-agent.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

const POLICY = `{
  "tagOwners": { "tag:router": ["alice@example.com"] },
  "autoApprovers": { "routes": { "10.1.0.0/16": ["tag:router"], "10.9.0.0/16": ["tag:router"] } },
  "acls": [{ "action": "accept", "src": ["*"], "dst": ["*:*"] }],
}`;

describe('subnet route election and failover', () => {
  let t: TestServer;
  const agents: TestAgent[] = [];
  const streams: RawMapStream[] = [];

  const router = async (name: string, routes: string[], extra: { routePriority?: number } = {}) => {
    const a = new TestAgent(t.url, name);
    agents.push(a);
    await a.control.register({
      wireguardKey: a.wireguard.publicKey,
      hostname: name,
      credential: { type: 'preauth-key', key: await t.preAuthKey({ tags: ['tag:router'] }) },
      advertiseRoutes: routes,
      ...extra,
    });
    const s = await RawMapStream.open(a);
    streams.push(s);
    return s;
  };
  const client = async () => {
    const c = new TestAgent(t.url, 'laptop');
    agents.push(c);
    await c.join(await t.preAuthKey());
    return c.connect();
  };
  const peer = (c: TestAgent, name: string): Peer | undefined => [...c.map.peers.values()].find((p) => p.name === name);
  /** Which peer carries `prefix` for this client, as its map says. */
  const via = (c: TestAgent, prefix: string): string[] =>
    [...c.map.peers.values()].filter((p) => p.primaryRoutes?.includes(prefix)).map((p) => p.name);
  const routes = async () => (await t.admin<{ items: PrefixView[] }>('GET', '/api/v1/routes')).body.items;

  beforeEach(async () => {
    // The default router heartbeat (500 ms): at 100 ms, three missed beats are 300 ms, which a
    // loaded machine running server and agents in this one process can take to answer a ping,
    // and the oldest router then lost its prefix as "offline" before the client looked.
    t = await startTestServer();
    await t.setPolicy(POLICY);
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) a.stop();
    for (const s of streams.splice(0)) s.close();
    await t.stop();
  });

  it('sends each client exactly one router per prefix, the oldest among equals, as primaryRoutes and in allowedIPs', async () => {
    await router('router-a', ['10.1.0.0/16']);
    await router('router-b', ['10.1.0.0/16']);
    const c = await client();
    await c.until((x) => x.peerNames().length === 2, 'both routers');
    expect(via(c, '10.1.0.0/16')).toEqual(['router-a']);
    expect(peer(c, 'router-a')!.allowedIPs).toContain('10.1.0.0/16');
    expect(peer(c, 'router-b')!.allowedIPs).not.toContain('10.1.0.0/16');
    expect(peer(c, 'router-b')!.primaryRoutes).toBeUndefined();
  });

  it('fails over to the standby with the highest --route-priority, then to the oldest', async () => {
    const a = await router('router-a', ['10.1.0.0/16'], { routePriority: 50 });
    const older = await router('router-c', ['10.1.0.0/16']);
    await router('router-b', ['10.1.0.0/16'], { routePriority: 200 });
    const c = await client();
    // A router that joins with a higher priority does not take a healthy primary's prefix.
    await c.until((x) => via(x, '10.1.0.0/16')[0] === 'router-a', 'router-a primary');
    expect((await routes())[0]!.standbys).toEqual(['router-b', 'router-c']);
    a.close();
    await c.until((x) => via(x, '10.1.0.0/16')[0] === 'router-b', 'router-b, the highest priority');
    expect(older.state.self?.routes?.[0]?.priority).toBe(100);
  });

  it('routes nothing that is advertised but not approved', async () => {
    await router('router-x', ['192.168.50.0/24']);
    const c = await client();
    await c.until((x) => x.peerNames().includes('router-x'), 'the router');
    expect(peer(c, 'router-x')!.primaryRoutes).toBeUndefined();
    const [prefix] = await routes();
    expect(prefix).toMatchObject({ prefix: '192.168.50.0/24', standbys: [] });
    expect(prefix!.primary).toBeUndefined();
    expect(prefix!.routers[0]).toMatchObject({ name: 'router-x', role: 'unapproved' });
  });

  it('fails over at once when the primary stream closes, and the recovered router does not take it back', async () => {
    const a = await router('router-a', ['10.1.0.0/16']);
    const b = await router('router-b', ['10.1.0.0/16']);
    const c = await client();
    await c.until((x) => via(x, '10.1.0.0/16')[0] === 'router-a', 'router-a primary');

    a.close();
    await c.until((x) => via(x, '10.1.0.0/16')[0] === 'router-b', 'failover to router-b');
    expect(via(c, '10.1.0.0/16')).toEqual(['router-b']);
    await b.until((s) => s.state.self?.routes?.[0]?.role === 'primary', 'router-b told it is primary');

    const back = await RawMapStream.open(agents.find((x) => x.hostname === 'router-a')!);
    streams.push(back);
    await back.until((s) => s.state.self?.routes?.[0]?.role === 'standby', 'router-a back as standby');
    expect(back.state.self!.routes![0]).toMatchObject({ prefix: '10.1.0.0/16', primary: 'router-b' });
    expect(via(c, '10.1.0.0/16')).toEqual(['router-b']);

    const [view] = await routes();
    expect(view).toMatchObject({ prefix: '10.1.0.0/16', primary: { name: 'router-b' }, standbys: ['router-a'] });
    expect(view!.reason).toMatch(/router-b stays primary/);
  });

  it('moves a prefix off a router whose probe fails, and says why', async () => {
    const a = await router('router-a', ['10.1.0.0/16']);
    await router('router-b', ['10.1.0.0/16']);
    const c = await client();
    await c.until((x) => via(x, '10.1.0.0/16')[0] === 'router-a', 'router-a primary');

    a.send({
      type: 'route-health',
      tunnel: 'up',
      routes: [
        { prefix: '10.1.0.0/16', healthy: false, probe: { kind: 'tcp', target: '10.1.0.5:22' }, error: 'timeout' },
      ],
    });
    await c.until((x) => via(x, '10.1.0.0/16')[0] === 'router-b', 'failover to router-b');
    await a.until((s) => s.state.self?.routes?.[0]?.role === 'unhealthy', 'router-a told why');
    expect(a.state.self!.routes![0]!.reason).toBe('probe tcp 10.1.0.5:22 failed: timeout');

    const audit = await t.admin<AuditPage>('GET', '/api/v1/audit?kind=route.primary');
    expect(audit.body.items.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^10\.1\.0\.0\/16: primary router-a -> router-b \(failover from router-a \(probe tcp/),
    );
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/trellis_route_primary_changes_total\{prefix="10\.1\.0\.0\/16",outcome="failover"\} 1/);
    expect(metrics).toMatch(/trellis_route_routers\{prefix="10\.1\.0\.0\/16",role="unhealthy"\} 1/);
  });

  it('moves a prefix off a router that reports its tunnel down', async () => {
    const a = await router('router-a', ['10.1.0.0/16']);
    await router('router-b', ['10.1.0.0/16']);
    const c = await client();
    await c.until((x) => via(x, '10.1.0.0/16')[0] === 'router-a', 'router-a primary');
    a.send({ type: 'route-health', tunnel: 'down', tunnelError: 'wireguard-go exited', routes: [] });
    await c.until((x) => via(x, '10.1.0.0/16')[0] === 'router-b', 'failover to router-b');
    expect((await routes())[0]!.routers.find((r) => r.name === 'router-a')).toMatchObject({
      role: 'unhealthy',
      reason: 'tunnel down: wireguard-go exited',
      tunnel: 'down',
    });
  });

  it('fails over from a router that falls silent without closing its connection (dead host, cut uplink)', async () => {
    await t.stop();
    t = await startTestServer({ routes: { heartbeatMs: 100 } });
    await t.setPolicy(POLICY);
    const a = await router('router-a', ['10.1.0.0/16']);
    await router('router-b', ['10.1.0.0/16']);
    const c = await client();
    await c.until((x) => via(x, '10.1.0.0/16')[0] === 'router-a', 'router-a primary');
    a.fallSilent();
    // routes.heartbeatMs is 100 here: three silent beats and the router is offline.
    await c.until((x) => via(x, '10.1.0.0/16')[0] === 'router-b', 'failover to router-b', 5000);
    expect(peer(c, 'router-a')!.online).toBe(false);
  });

  it('leaves a more specific prefix with no healthy router to the less specific one (no black hole)', async () => {
    await router('wide', ['10.9.0.0/16']);
    const narrow = await router('narrow', ['10.9.4.0/24']);
    await t.setPolicy(
      POLICY.replace('"10.9.0.0/16": ["tag:router"]', '"10.9.0.0/16": ["tag:router"], "10.9.4.0/24": ["tag:router"]'),
    );
    const c = await client();
    await c.until((x) => via(x, '10.9.4.0/24').length === 1, 'the /24 routed');
    expect(via(c, '10.9.0.0/16')).toEqual(['wide']);
    narrow.send({
      type: 'route-health',
      tunnel: 'up',
      routes: [{ prefix: '10.9.4.0/24', healthy: false, error: 'no answer' }],
    });
    await c.until((x) => via(x, '10.9.4.0/24').length === 0, 'the /24 no longer routed');
    // Nobody is sent the /24: the client's route for the /16 carries 10.9.4.x through "wide".
    expect(peer(c, 'narrow')!.allowedIPs).not.toContain('10.9.4.0/24');
    expect(via(c, '10.9.0.0/16')).toEqual(['wide']);
    const view = (await routes()).find((p) => p.prefix === '10.9.4.0/24')!;
    expect(view.primary).toBeUndefined();
    expect(view.reason).toMatch(/no approved router is online and healthy/);
  });
});

describe('subnet route election with preempt on', () => {
  it('hands a prefix to a higher-priority router once it has been eligible for the hold-down', async () => {
    const t = await startTestServer({ routes: { preempt: true, preemptHoldDownMs: 1_000 } });
    const agents: TestAgent[] = [];
    try {
      await t.setPolicy(POLICY);
      const streams: RawMapStream[] = [];
      for (const [name, routePriority] of [
        ['router-a', 100],
        ['router-b', 300],
      ] as const) {
        const a = new TestAgent(t.url, name);
        agents.push(a);
        await a.control.register({
          wireguardKey: a.wireguard.publicKey,
          hostname: name,
          credential: { type: 'preauth-key', key: await t.preAuthKey({ tags: ['tag:router'] }) },
          advertiseRoutes: ['10.1.0.0/16'],
          routePriority,
        });
        streams.push(await RawMapStream.open(a));
      }
      const joined = Date.now();
      await streams[1]!.until((s) => s.state.self?.routes?.[0]?.role === 'standby', 'router-b standby at first');
      expect(streams[1]!.state.self?.routes?.[0]?.reason).toMatch(/hold-down/);
      await streams[1]!.until((s) => s.state.self?.routes?.[0]?.role === 'primary', 'router-b primary');
      expect(Date.now() - joined).toBeGreaterThanOrEqual(900);
      await streams[0]!.until((s) => s.state.self?.routes?.[0]?.role === 'standby', 'router-a standby');
      for (const s of streams) s.close();
    } finally {
      await t.stop();
    }
  });
});
