import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import { Lab, type Host } from './harness/lab.ts';
import { AgentHost } from './mesh/agent-host.ts';
import { ServerHost } from './mesh/server-host.ts';

/**
 * Two routers for one prefix, failing over on what happens to them: r1 and r2 both route the
 * site 10.77.1.0/24 (their eth1 at .1 and .2), where `s` serves port 80 and has no route back to
 * the mesh (each router masquerades, so `s` names the router a connection came through). Each
 * probes `s`. The client c opens new connections and reads which router carried them. Times are
 * logged, not asserted (bench:gateways measures them).
 */
const SITE = '10.77.2';
const PREFIX = `${SITE}.0/24`;
const POLICY = `{
  "tagOwners": { "tag:router": [], "tag:c": [] },
  "autoApprovers": { "routes": { "${PREFIX}": ["tag:router"] } },
  "acls": [{ "action": "accept", "src": ["tag:c"], "dst": ["${PREFIX}:80", "tag:router:*"] }],
}`;

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables')],
  'two routers for one prefix',
  () => {
    let lab: Lab;
    let server: ServerHost;
    let r1: AgentHost;
    let r2: AgentHost;
    let c: AgentHost;
    let s: Host;

    /** Which router carried a new connection from c to s, or undefined when none got through. */
    const via = async (timeoutMs = 700): Promise<string | undefined> => {
      const res = await c.host.connectTcp(`${SITE}.10`, 80, timeoutMs);
      if (!res.ok) return undefined;
      return res.reply.endsWith(`${SITE}.1`) ? 'r1' : res.reply.endsWith(`${SITE}.2`) ? 'r2' : res.reply;
    };
    /** New connections until one goes through `router`; logs how long that took. */
    const until = async (router: string, what: string, withinMs = 30_000) => {
      const start = performance.now();
      let last: string | undefined;
      while (performance.now() - start < withinMs) {
        last = await via();
        if (last === router) {
          console.log(`${what}: a new connection through ${router} after ${Math.round(performance.now() - start)} ms`);
          return;
        }
      }
      throw new Error(`${what}: no connection through ${router} within ${withinMs} ms (last: ${last ?? 'none'})`);
    };
    const role = async (r: AgentHost) => (await r.status()).self?.routes?.find((x) => x.prefix === PREFIX)?.role;

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
      const routerUp = (r: AgentHost) =>
        r.up(server.url, routerKey, {
          advertiseRoutes: [PREFIX],
          routeProbes: [{ prefix: PREFIX, probe: { kind: 'tcp', target: `${SITE}.10:80` } }],
        });
      await routerUp(r1); // the older router: primary
      await routerUp(r2);
      await c.up(server.url, await server.preAuthKey({ tags: ['tag:c'] }), { acceptRoutes: true });
      await r1.until((x) => x.self?.routes?.[0]?.role === 'primary', 'r1 primary');
      await r2.until((x) => x.self?.routes?.[0]?.role === 'standby', 'r2 standby');
    }, 120_000);
    afterAll(async () => {
      await lab?.cleanup();
      server?.dispose();
      for (const n of [r1, r2, c]) n?.dispose();
    });

    it('routes the prefix through the primary only, and shows who is primary and standby', async () => {
      await until('r1', 'first connection');
      const st = await c.status();
      expect(st.subnetRoutes).toEqual([{ prefix: PREFIX, via: 'r1', state: 'accepted' }]);
      expect((await r2.cli(['status'])).stdout).toContain(`routes: ${PREFIX} standby`);
    });

    it('moves to the standby when the primary dies (agent and wireguard-go killed)', async () => {
      await r1.crash();
      await until('r2', 'after killing r1');
      await c.until((x) => x.subnetRoutes?.[0]?.via === 'r2', 'c routes via r2');
    });

    it('keeps the prefix on the standby when the old primary comes back (no flap)', async () => {
      await r1.start();
      await r1.until((x) => x.state === 'running' && x.connected, 'r1 back');
      await r1.until((x) => x.self?.routes?.[0]?.role === 'standby', 'r1 is a standby now');
      for (let i = 0; i < 5; i++) expect(await via(2_000)).toBe('r2');
      expect(await role(r2)).toBe('primary');
    }, 60_000); // an agent's start on a busy machine takes most of the default 20 s

    it('moves when the primary loses its uplink (no TCP close reaches the server)', async () => {
      await r2.host.exec('ip', ['link', 'set', 'eth0', 'down']);
      try {
        await until('r1', "after cutting r2's uplink");
      } finally {
        await r2.host.exec('ip', ['link', 'set', 'eth0', 'up']);
      }
      await r2.until((x) => x.connected && x.self?.routes?.[0]?.role === 'standby', 'r2 back as a standby');
    });

    it('moves off a router whose probe target is unreachable, and says why', async () => {
      expect(await role(r1)).toBe('primary');
      await r1.host.exec('ip', ['link', 'set', 'eth1', 'down']);
      try {
        await until('r2', "after r1's probe failed");
        const st = await r1.until((x) => x.self?.routes?.[0]?.role === 'unhealthy', 'r1 unhealthy');
        expect(st.self!.routes![0]!.health).toMatchObject({ healthy: false });
      } finally {
        await r1.host.exec('ip', ['link', 'set', 'eth1', 'up']);
        await r1.host.exec('ip', ['addr', 'replace', `${SITE}.1/24`, 'dev', 'eth1']);
      }
      await r1.until((x) => x.self?.routes?.[0]?.role === 'standby', 'r1 healthy again, a standby');
      expect(await role(r2)).toBe('primary');
    });
  },
);
