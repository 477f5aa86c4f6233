import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import { Lab, type Host } from './harness/lab.ts';
import { AgentHost } from './mesh/agent-host.ts';
import { ServerHost } from './mesh/server-host.ts';

/**
 * Overlapping prefixes fall back by longest-prefix match: r1 routes the whole site
 * 10.77.2.0/24, r2 only its lower half 10.77.2.0/25, where `s` (.10) serves port 80. Both sit
 * on the site (eth1 .1 and .2) and masquerade, so `s` names the router a connection came
 * through; each probes `s`. While r2 carries the /25, the client reaches `s` through r2; when
 * the /25 has no healthy router, the client's own routes and WireGuard send `s` through r1's /24
 * (no dead router in the way), and back through r2 once the /25 is healthy again.
 */
const SITE = '10.77.2';
const WIDE = `${SITE}.0/24`;
const NARROW = `${SITE}.0/25`;
const POLICY = `{
  "tagOwners": { "tag:router": [], "tag:c": [] },
  "autoApprovers": { "routes": { "${WIDE}": ["tag:router"], "${NARROW}": ["tag:router"] } },
  "acls": [{ "action": "accept", "src": ["tag:c"], "dst": ["${WIDE}:80", "tag:router:*"] }],
}`;

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables'), hasCommand('iptables')],
  'overlapping subnet routes',
  () => {
    let lab: Lab;
    let server: ServerHost;
    let r1: AgentHost;
    let r2: AgentHost;
    let c: AgentHost;
    let s: Host;

    const via = async (): Promise<string | undefined> => {
      const res = await c.host.connectTcp(`${SITE}.10`, 80, 700);
      if (!res.ok) return undefined;
      return res.reply.endsWith(`${SITE}.1`) ? 'r1' : res.reply.endsWith(`${SITE}.2`) ? 'r2' : res.reply;
    };
    /** New connections until one goes through `router`. */
    const until = async (router: string, what: string, withinMs = 30_000) => {
      const start = performance.now();
      let last: string | undefined;
      while (performance.now() - start < withinMs) if ((last = await via()) === router) return;
      throw new Error(`${what}: no connection through ${router} within ${withinMs} ms (last: ${last ?? 'none'})`);
    };
    const offered = async () =>
      ((await c.status()).subnetRoutes ?? []).map((o) => `${o.prefix} via ${o.via}: ${o.state}`).sort();
    // s stops answering r2 (its probe and what it forwards), as a broken link between them would.
    const blockR2 = ['INPUT', '-s', `${SITE}.2`, '-p', 'tcp', '--dport', '80', '-j', 'DROP'];

    beforeAll(async () => {
      lab = await Lab.create({ tag: 'gwr' });
      [server, r1, r2, c] = await Promise.all([
        ServerHost.start(lab),
        AgentHost.start(lab, 'r1'),
        AgentHost.start(lab, 'r2'),
        AgentHost.start(lab, 'c'),
      ]);
      const site = await lab.addSegment();
      expect(site.net).toBe(SITE);
      await lab.attach(r1.host.netns, site, 'eth1', `${SITE}.1`);
      await lab.attach(r2.host.netns, site, 'eth1', `${SITE}.2`);
      s = await lab.addHost('s', { segment: site });
      await s.serveTcp([80]);
      await server.setPolicy(POLICY);
      const routerKey = await server.preAuthKey({ tags: ['tag:router'] });
      const probe = (prefix: string) => ({ prefix, probe: { kind: 'tcp' as const, target: `${SITE}.10:80` } });
      await r1.up(server.url, routerKey, { advertiseRoutes: [WIDE], routeProbes: [probe(WIDE)] });
      await r2.up(server.url, routerKey, { advertiseRoutes: [NARROW], routeProbes: [probe(NARROW)] });
      await c.up(server.url, await server.preAuthKey({ tags: ['tag:c'] }), { acceptRoutes: true });
      await c.until((x) => (x.subnetRoutes ?? []).filter((o) => o.state === 'accepted').length === 2, 'both routes');
    }, 120_000);
    afterAll(async () => {
      await lab?.cleanup();
      server?.dispose();
      for (const n of [r1, r2, c]) n?.dispose();
    });

    it('sends an address both prefixes cover through the router of the longer one', async () => {
      expect(await offered()).toEqual([`${WIDE} via r1: accepted`, `${NARROW} via r2: accepted`]);
      await until('r2', 'the /25');
      for (let i = 0; i < 3; i++) expect(await via()).toBe('r2');
    });

    it("falls back to the wider prefix's router when the longer prefix's router fails its probe", async () => {
      await s.exec('iptables', ['-A', ...blockR2]);
      try {
        await r2.until((x) => x.self?.routes?.[0]?.role === 'unhealthy', 'r2 unhealthy');
        await c.until((x) => !(x.subnetRoutes ?? []).some((o) => o.prefix === NARROW), 'the /25 withdrawn');
        expect((await c.host.exec('ip', ['route', 'show', NARROW])).stdout).toBe('');
        await until('r1', 'the /24 after the /25 lost its router');
      } finally {
        await s.exec('iptables', ['-D', ...blockR2]);
      }
    });

    it('goes back to the longer prefix once its router is healthy again', async () => {
      await r2.until((x) => x.self?.routes?.[0]?.role === 'primary', 'r2 primary again');
      await until('r2', 'the /25 healthy again');
      // WireGuard's allowed IPs move traffic first; status lists the route once its apply is done.
      await expect
        .poll(offered, { timeout: 10_000 })
        .toEqual([`${WIDE} via r1: accepted`, `${NARROW} via r2: accepted`]);
    });

    it('falls back again when the longer prefix’s router dies', async () => {
      await r2.crash();
      await until('r1', 'the /24 after r2 died');
      // Traffic moves with the peer's allowed IPs; the dead router's offer leaves status with the next map.
      await expect.poll(offered, { timeout: 10_000 }).toEqual([`${WIDE} via r1: accepted`]);
    });
  },
);
