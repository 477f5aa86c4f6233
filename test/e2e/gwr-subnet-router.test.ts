import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import { Lab, type Host, type Segment } from './harness/lab.ts';
import { AgentHost } from './mesh/agent-host.ts';
import { ServerHost } from './mesh/server-host.ts';

/**
 * Subnet routers end to end, with real agents, wireguard-go and nftables in the lab:
 *  - site A (10.77.2.0/24) behind router r: `s` (no route to the mesh at all), `a1` (default
 *    route via r), `g` (no agent; routes only the mesh ranges via r: the gateway-pod pattern);
 *  - site B (10.77.3.0/24) behind router r2 with SNAT off (site-to-site): `b1`, default via r2;
 *  - clients c (the policy lets it reach site A on port 80) and d (it may reach the router only).
 */
// The lab's segments after the internet (10.77.0): site A is the first added, site B the next.
const A = '10.77.2';
const B = '10.77.3';
const POLICY = `{
  "tagOwners": { "tag:router": [], "tag:c": [], "tag:d": [] },
  "acls": [
    { "action": "accept", "src": ["tag:c"], "dst": ["${A}.0/24:80", "10.77.0.128/25:80", "tag:router:*"] },
    { "action": "accept", "src": ["tag:d"], "dst": ["tag:router:*"] },
    // What g reaches through r, as r: the gateway is judged as itself.
    { "action": "accept", "src": ["tag:router"], "dst": ["tag:c:80"] },
    // Site A's hosts reach site B by their own addresses.
    { "action": "accept", "src": ["${A}.0/24"], "dst": ["${B}.0/24:80"] },
  ],
}`;

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables'), hasCommand('sysctl', 'procps')],
  'subnet routers, site-to-site and a gateway into the mesh',
  () => {
    let lab: Lab;
    let server: ServerHost;
    let r: AgentHost;
    let r2: AgentHost;
    let c: AgentHost;
    let d: AgentHost;
    let s: Host;
    let a1: Host;
    let g: Host;
    let b1: Host;
    let siteA: Segment;
    const agents = () => [r, r2, c, d];
    const sysctl = async (h: Host, key: string) => (await h.exec('sysctl', ['-n', key])).stdout.trim();
    const routerTable = (h: Host) =>
      h.exec('nft', ['list', 'table', 'inet', 'trellis_router']).then(
        (res) => res.stdout,
        () => undefined,
      );
    const ok = async (from: Host, to: string, port = 80) => (await from.connectTcp(to, port, 1_000)).ok;
    const approve = async (node: AgentHost, routes: string[]) => {
      const id = (await server.nodes()).find((n) => n.name === node.label)!.id;
      const res = await server.admin('POST', `/api/v1/nodes/${id}/routes`, { routes });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    };
    const up = async (node: AgentHost, args: string[]) => {
      const res = await node.cli(['up', ...args]);
      expect(res.exitCode, `${node.label}: ${res.stdout}${res.stderr}`).toBe(0);
      return res.stdout;
    };

    beforeAll(async () => {
      lab = await Lab.create({ tag: 'gwr' });
      [server, r, r2, c, d] = await Promise.all([
        ServerHost.start(lab),
        AgentHost.start(lab, 'r'),
        AgentHost.start(lab, 'r2'),
        AgentHost.start(lab, 'c'),
        AgentHost.start(lab, 'd'),
      ]);
      siteA = await lab.addSegment();
      const siteB = await lab.addSegment();
      expect([siteA.net, siteB.net]).toEqual([A, B]);
      await lab.attach(r.host.netns, siteA, 'eth1', `${siteA.net}.1`);
      await lab.attach(r2.host.netns, siteB, 'eth1', `${siteB.net}.1`);
      s = await lab.addHost('s', { segment: siteA });
      a1 = await lab.addHost('a1', { segment: siteA, gateway: `${siteA.net}.1` });
      g = await lab.addHost('g', { segment: siteA });
      await g.exec('ip', ['route', 'add', '100.64.0.0/10', 'via', `${siteA.net}.1`]);
      b1 = await lab.addHost('b1', { segment: siteB, gateway: `${siteB.net}.1` });
      for (const h of [s, a1, g, b1, c.host]) await h.serveTcp([80]);
      // What the router's machine had before: IPv4 forwarding off, IPv6 forwarding on.
      await r.host.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=0']);
      await r.host.exec('sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
      await server.setPolicy(POLICY);
      const key = (tag: string) => server.preAuthKey({ tags: [tag] });
      const join = async (n: AgentHost, tag: string, extra: string[]) =>
        up(n, ['--server', server.url, '--auth-key', await key(tag), '--hostname', n.label, ...extra]);
      await Promise.all([
        join(r, 'tag:router', ['--advertise-routes', `${A}.0/24`, '--accept-routes']),
        join(r2, 'tag:router', [
          '--advertise-routes',
          `${B}.0/24,10.77.0.128/25`,
          '--accept-routes',
          '--snat-subnet-routes=false',
        ]),
        join(c, 'tag:c', ['--accept-routes']),
        join(d, 'tag:d', ['--accept-routes']),
      ]);
    }, 120_000);
    afterAll(async () => {
      await lab?.cleanup();
      server?.dispose();
      for (const n of agents()) n?.dispose();
    });

    it('routes nothing while the route awaits approval: no route on the client, no forwarding on the router', async () => {
      const status = await r.cli(['status']);
      expect(status.stdout).toContain(`routes: ${A}.0/24 awaiting approval`);
      expect((await c.status()).subnetRoutes ?? []).toEqual([]);
      expect(await ok(c.host, `${siteA.net}.10`)).toBe(false);
      expect(await sysctl(r.host, 'net.ipv4.ip_forward')).toBe('0');
      expect(await routerTable(r.host)).toBeUndefined();
    });

    it('once approved, an allowed client reaches a subnet host, masqueraded to the router', async () => {
      await approve(r, [`${A}.0/24`]);
      await c.until(
        (x) => x.subnetRoutes?.some((o) => o.prefix === `${A}.0/24` && o.state === 'accepted') ?? false,
        'c takes the route',
      );
      expect((await c.host.exec('ip', ['route', 'show', `${A}.0/24`])).stdout).toContain(`dev ${c.iface}`);
      // c taking the route says nothing about r, which applies the approval from its own map:
      // wait until r routes (its engine loads the filter, then the router's table, and turns
      // IPv4 forwarding on last) and c's tunnel to r carries packets (the first handshake).
      await expect.poll(() => sysctl(r.host, 'net.ipv4.ip_forward'), { timeout: 10_000 }).toBe('1');
      expect(await c.host.pingUntil(await r.ipv4(), 10_000)).toBe(true);
      const reply = await c.host.connectTcp(`${siteA.net}.10`, 80, 2_000);
      // s has no route to the mesh: the reply can only come back because r masqueraded.
      expect(reply).toEqual({ ok: true, reply: `hello from s port 80 to ::ffff:${siteA.net}.1` });
      expect(await sysctl(r.host, 'net.ipv4.ip_forward')).toBe('1');
    });

    it('refuses a client the policy does not allow: it is not offered the route, though it reaches the router itself', async () => {
      const rIp = await r.ipv4();
      await d.until((x) => x.peers.some((p) => p.name === 'r'), 'd sees r');
      expect(await d.host.pingUntil(rIp, 5_000)).toBe(true);
      expect((await d.status()).subnetRoutes ?? []).toEqual([]);
      expect((await d.host.exec('ip', ['route', 'show', `${A}.0/24`])).stdout).toBe('');
      expect(await ok(d.host, `${siteA.net}.10`)).toBe(false);
    });

    it("drops at the router's forward chain what a client the policy does not allow sends into the subnet anyway", async () => {
      // d routes site A into its tunnel to r by hand, as a tampered agent would: r must drop it.
      const target = `${siteA.net}.10`;
      const rKey = (await d.status()).peers.find((p) => p.name === 'r')!.publicKey;
      const allowedOfR = async () =>
        (await d.host.exec('wg', ['show', d.iface, 'allowed-ips'])).stdout
          .split('\n')
          .find((l) => l.startsWith(rKey))!
          .split(/\s+/)
          .slice(1)
          .filter(Boolean);
      const before = await allowedOfR();
      const dIp = await d.ipv4();
      // Counted on r: SYNs from d arriving through the tunnel, and any leaving into the site.
      const counters = [
        'table inet gwrcount {',
        '  chain arrived {',
        '    type filter hook prerouting priority -400;',
        `    iifname "${r.iface}" ip saddr ${dIp} ip daddr ${target} tcp dport 80 counter`,
        '  }',
        '  chain left {',
        '    type filter hook postrouting priority 400;',
        `    oifname "eth1" ip daddr ${target} tcp dport 80 counter`,
        '  }',
        '}',
      ].join('\n');
      const count = async (chain: string) =>
        Number(
          /counter packets (\d+)/.exec(
            (await r.host.exec('nft', ['list', 'chain', 'inet', 'gwrcount', chain])).stdout,
          )![1],
        );
      await r.host.exec('nft', ['-f', '-'], { input: counters });
      try {
        await d.host.exec('wg', ['set', d.iface, 'peer', rKey, 'allowed-ips', [...before, `${A}.0/24`].join(',')]);
        await d.host.exec('ip', ['route', 'replace', `${A}.0/24`, 'dev', d.iface]);
        expect(await ok(d.host, target)).toBe(false);
        expect(await allowedOfR()).toContain(`${A}.0/24`); // still routed into the tunnel while it tried
        expect(await count('arrived')).toBeGreaterThan(0);
        expect(await count('left')).toBe(0);
      } finally {
        await r.host.exec('nft', ['delete', 'table', 'inet', 'gwrcount']).catch(() => undefined);
        await d.host.exec('ip', ['route', 'del', `${A}.0/24`, 'dev', d.iface]).catch(() => undefined);
        await d.host.exec('wg', ['set', d.iface, 'peer', rKey, 'allowed-ips', before.join(',')]).catch(() => undefined);
      }
    });

    it('lists the offered route as not accepted once the client stops accepting routes, and no longer routes it', async () => {
      await up(c, ['--accept-routes=false']);
      const st = await c.until((x) => x.subnetRoutes?.some((o) => o.state === 'not-accepted') ?? false, 'not accepted');
      expect(st.subnetRoutes).toContainEqual({ prefix: `${A}.0/24`, via: 'r', state: 'not-accepted' });
      expect((await c.cli(['status'])).stdout).toContain(
        `subnet: ${A}.0/24 via r: offered, not accepted (trellis up --accept-routes)`,
      );
      expect(await ok(c.host, `${siteA.net}.10`)).toBe(false);
      await up(c, ['--accept-routes']);
      await c.until((x) => x.subnetRoutes?.every((o) => o.state !== 'not-accepted') ?? false, 'accepted again');
      expect(await ok(c.host, `${siteA.net}.10`)).toBe(true);
    });

    it("refuses a route that would capture the client's LAN, says why, and takes it when forced", async () => {
      await approve(r2, [`${B}.0/24`, '10.77.0.128/25']);
      const st = await c.until(
        (x) => x.subnetRoutes?.some((o) => o.prefix === '10.77.0.128/25') ?? false,
        'c is offered 10.77.0.128/25',
      );
      expect(st.subnetRoutes!.find((o) => o.prefix === '10.77.0.128/25')).toMatchObject({
        via: 'r2',
        state: 'refused',
        refusal: { code: 'routes.captures_lan' },
      });
      expect((await c.cli(['status'])).stdout).toMatch(
        /subnet: 10\.77\.0\.128\/25 via r2: refused: not routing 10\.77\.0\.128\/25: it would take part of this machine's LAN 10\.77\.0\.0\/24 \(eth0\) into the tunnel \[routes\.captures_lan\]/,
      );
      expect((await c.host.exec('ip', ['route', 'show', '10.77.0.128/25'])).stdout).toBe('');
      await up(c, ['--accept-routes-force', '10.77.0.128/25']);
      await c.until(
        (x) =>
          x.subnetRoutes?.some((o) => o.prefix === '10.77.0.128/25' && o.state === 'accepted' && o.forced === true) ??
          false,
        'forced',
      );
      expect((await c.host.exec('ip', ['route', 'show', '10.77.0.128/25'])).stdout).toContain(`dev ${c.iface}`);
      await up(c, ['--accept-routes-force', '']);
    });

    it('connects two sites without SNAT: the far host sees the near host by its own address', async () => {
      await r.until(
        (x) => x.subnetRoutes?.some((o) => o.prefix === `${B}.0/24` && o.state === 'accepted') ?? false,
        'r takes site B',
      );
      await r2.until(
        (x) => x.subnetRoutes?.some((o) => o.prefix === `${A}.0/24` && o.state === 'accepted') ?? false,
        'r2 takes site A',
      );
      const b1Address = b1.address;
      let reply = await a1.connectTcp(b1Address, 80, 2_000);
      for (let i = 0; i < 20 && !reply.ok; i++) reply = await a1.connectTcp(b1Address, 80, 1_000); // first handshake
      expect(reply).toEqual({ ok: true, reply: `hello from b1 port 80 to ::ffff:${a1.address}` });
    });

    it("lets a host without an agent reach the mesh through the router, as the router's own mesh address", async () => {
      await up(r, ['--gateway-for', `${A}.12/32`]);
      const cIp = await c.ipv4();
      const rIp = await r.ipv4();
      expect(await g.connectTcp(cIp, 80, 2_000)).toEqual({ ok: true, reply: `hello from c port 80 to ::ffff:${rIp}` });
      // A host that is not a gateway source is not translated, and no peer takes its packets.
      await a1.exec('ip', ['route', 'replace', '100.64.0.0/10', 'via', `${siteA.net}.1`]);
      expect(await ok(a1, cIp)).toBe(false);
    });

    it('undoes exactly what it set when routing stops, and again on trellis down', async () => {
      await up(r, ['--advertise-routes', '', '--gateway-for', '']);
      await r.until((x) => (x.self?.routes ?? []).length === 0, 'r routes nothing');
      const deadline = Date.now() + 5_000;
      while ((await routerTable(r.host)) !== undefined && Date.now() < deadline)
        await new Promise((res) => setTimeout(res, 100));
      expect(await routerTable(r.host)).toBeUndefined();
      expect(await sysctl(r.host, 'net.ipv4.ip_forward')).toBe('0');
      expect(await sysctl(r.host, 'net.ipv6.conf.all.forwarding')).toBe('1');
      expect(await ok(c.host, `${siteA.net}.10`)).toBe(false);

      expect(await sysctl(r2.host, 'net.ipv4.ip_forward')).toBe('1');
      const down = await r2.cli(['down']);
      expect(down.exitCode, down.stderr).toBe(0);
      expect(await routerTable(r2.host)).toBeUndefined();
      expect(await sysctl(r2.host, 'net.ipv4.ip_forward')).toBe('0');
    });
  },
);
