import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import { Lab } from './harness/lab.ts';
import { AgentHost } from './mesh/agent-host.ts';
import { ServerHost } from './mesh/server-host.ts';

/**
 * Two agents in two network namespaces with one interface name, as a new user following the
 * README with the default name gets: wireguard-go's UAPI sockets live in one directory for the
 * whole machine, so the second agent finds the first one's socket answering. It must refuse to
 * take that device over (it would steal the first node's tunnels), and say what collides.
 */
const ALLOW_ALL = `{ "tagOwners": { "tag:n": [] }, "acls": [{ "action": "accept", "src": ["*"], "dst": ["*:*"] }] }`;

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables')],
  'two agents in two namespaces with the same interface name',
  () => {
    let lab: Lab;
    let server: ServerHost;
    let a: AgentHost;
    let b: AgentHost;
    let c: AgentHost;

    beforeAll(async () => {
      lab = await Lab.create();
      const shared = lab.uniqueName('same');
      [server, a, b] = await Promise.all([
        ServerHost.start(lab),
        AgentHost.startOn(await lab.addHost('a'), [], shared),
        AgentHost.start(lab, 'b'),
      ]);
      c = await AgentHost.startOn(await lab.addHost('c'), [], shared);
      await server.setPolicy(ALLOW_ALL);
    }, 90_000);
    afterAll(async () => {
      await lab?.cleanup();
      server?.dispose();
      for (const n of [a, b, c]) n?.dispose();
    });

    it("the second one refuses the first one's device, names the socket, process and namespace, and the first keeps its tunnels", async () => {
      for (const n of [a, b])
        await n.up(server.url, await server.preAuthKey({ tags: ['tag:n'] }), { hostname: n.label });
      const [sa, sb] = await Promise.all([a.until((s) => s.peers.length === 1, 'b as peer'), b.ipv4()]);
      expect(await a.host.pingUntil(sb)).toBe(true);
      const [wireguardGo] = await a.wireguardGoPids();

      const key = await server.preAuthKey({ tags: ['tag:n'] });
      const started = Date.now();
      const refused = await c.up(server.url, key);
      // At once, not after up's 15 s wait for a map: retrying will not free the name.
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(refused.state).not.toBe('running');
      const said = refused.lastError ?? '';
      expect(said).toContain(`interface name ${a.iface} is taken: /var/run/wireguard/${a.iface}.sock`);
      expect(said).toContain(`wireguard-go (pid ${wireguardGo}) in network namespace "${a.host.netns}"`);
      expect(said).toContain(`not from this agent's network namespace`);
      expect(said).toContain('--interface');

      // A's device still is A's: its key, its peer, traffic flowing.
      const after = await a.status();
      expect(after.self?.publicKey).toBe(sa.self?.publicKey);
      expect(after.peers.map((p) => p.name)).toContain('b');
      expect(await a.host.pingUntil(sb)).toBe(true);
      const { stdout } = await a.host.exec('wg', ['show', a.iface, 'public-key']);
      expect(stdout.trim()).toBe(sa.self?.publicKey);
    });
  },
);
