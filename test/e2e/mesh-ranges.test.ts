import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import { Lab } from './harness/lab.ts';
import { AgentHost } from './mesh/agent-host.ts';
import { ServerHost } from './mesh/server-host.ts';

/**
 * A server whose mesh is not in the usual ranges, and agents started with no --mesh-ranges:
 * the map names the ranges, and the agents route and guard those, not their defaults.
 */
const V4 = '10.123.0.0/16';
const V6 = 'fd00:7:7::/48';

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables')],
  "agents take the mesh ranges from the server's map",
  () => {
    let lab: Lab;
    let server: ServerHost;
    let a: AgentHost;
    let b: AgentHost;

    beforeAll(async () => {
      lab = await Lab.create();
      [server, a, b] = await Promise.all([
        ServerHost.start(lab, ['--network.ipv4Prefix', V4, '--network.ipv6Prefix', V6]),
        AgentHost.start(lab, 'a'),
        AgentHost.start(lab, 'b'),
      ]);
      const key = await server.preAuthKey({ tags: ['tag:x'] });
      await Promise.all([a.up(server.url, key), b.up(server.url, key)]);
    }, 90_000);
    afterAll(async () => {
      await lab?.cleanup();
      server?.dispose();
      for (const n of [a, b]) n?.dispose();
    });

    it("routes the server's ranges into the tunnel, guards them, and carries traffic there", async () => {
      const bSelf = (await b.until((s) => s.self?.ipv4 !== undefined, 'b has an address')).self!;
      expect(bSelf.ipv4.startsWith('10.123.')).toBe(true);
      await a.until((s) => s.peers.some((p) => p.name === 'b'), 'a sees b');
      expect(await a.host.pingUntil(bSelf.ipv4, 10_000), 'a -> b over IPv4').toBe(true);
      expect(await a.host.pingUntil(bSelf.ipv6, 5_000), 'a -> b over IPv6').toBe(true);

      const routes = (await a.host.exec('ip', ['route', 'show', 'dev', a.iface])).stdout;
      expect(routes).toContain(V4);
      expect(routes).not.toContain('100.64.0.0/10');
      expect((await a.host.exec('ip', ['-6', 'route', 'show', 'dev', a.iface])).stdout).toContain(V6);
      const guard = (await a.host.exec('nft', ['list', 'table', 'inet', 'trellis_guard'])).stdout;
      expect(guard).toContain(V4);
      expect(guard).not.toContain('100.64.0.0/10');
    });
  },
);
