import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import { Lab, type Host } from './harness/lab.ts';
import { AgentHost } from './mesh/agent-host.ts';
import { ServerHost } from './mesh/server-host.ts';

/**
 * The whole system end to end: the server as a process in its own namespace, and on each of
 * three hosts a real `trellis agent` process that joins with a pre-auth key and then drives
 * wireguard-go, addresses, routes and nftables from the maps it receives. Traffic is real
 * packets through real tunnels between the lab's namespaces; policy is set through the admin API.
 */
const TAGS = `"tagOwners": { "tag:a": [], "tag:b": [], "tag:c": [] }`;
const ALLOW_ALL = `{ ${TAGS}, "acls": [{ "action": "accept", "src": ["*"], "dst": ["*:*"] }] }`;
const A_TO_B = (ports: string) => `{ ${TAGS}, "acls": [
  { "action": "accept", "src": ["tag:a"], "dst": ["tag:b:${ports}"] },
  // C keeps a peer (A), so it is in the mesh and could try B if B were reachable.
  { "action": "accept", "src": ["tag:c"], "dst": ["tag:a:*"] },
] }`;

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables')],
  'agents joining a mesh through the server',
  () => {
    let lab: Lab;
    let server: ServerHost;
    let a: AgentHost;
    let b: AgentHost;
    let c: AgentHost;
    const ip = { a: '', b: '', c: '', a6: '', b6: '', c6: '' };
    const tcp = (from: AgentHost, to: string, port: number) => from.host.connectTcp(to, port, 800).then((r) => r.ok);
    const peersOf = (s: { peers: Array<{ name: string }> }) => s.peers.map((p) => p.name).join(',');

    beforeAll(async () => {
      lab = await Lab.create();
      [server, a, b, c] = await Promise.all([
        ServerHost.start(lab),
        AgentHost.start(lab, 'a'),
        AgentHost.start(lab, 'b'),
        AgentHost.start(lab, 'c'),
      ]);
      await server.setPolicy(ALLOW_ALL);
      for (const n of [a, b, c]) await n.host.serveTcp([22, 80]);
    }, 90_000);
    afterAll(async () => {
      await lab?.cleanup();
      server?.dispose();
      for (const n of [a, b, c]) n?.dispose();
    });

    it('three nodes join with pre-auth keys, ping and open TCP connections to one another', async () => {
      for (const n of [a, b, c]) {
        const key = await server.preAuthKey({ tags: [`tag:${n.label}`] });
        const { stdout, exitCode, stderr } = await n.cli([
          'up',
          '--server',
          server.url,
          '--auth-key',
          key,
          '--hostname',
          n.label,
        ]);
        expect(exitCode, stderr).toBe(0);
        expect(stdout).toMatch(new RegExp(`^up: ${n.label} is 100\\.64\\.\\d+\\.\\d+ and fd7a:115c:a1e0::`));
      }
      for (const n of [a, b, c]) {
        const s = await n.until((x) => x.peers.length === 2, 'two peers');
        ip[n.label as 'a'] = s.self!.ipv4;
        ip[`${n.label}6` as 'a6'] = s.self!.ipv6;
      }
      expect(new Set([ip.a, ip.b, ip.c]).size).toBe(3);
      for (const [from, others] of [
        [a, [b, c]],
        [b, [a, c]],
        [c, [a, b]],
      ] as const) {
        for (const to of others) {
          expect(await from.host.pingUntil(ip[to.label as 'a']), `${from.label} -> ${to.label}`).toBe(true);
          expect(await from.host.pingUntil(ip[`${to.label}6` as 'a6']), `${from.label} -> ${to.label} v6`).toBe(true);
          expect(await from.host.connectTcp(ip[to.label as 'a'], 80)).toEqual({
            ok: true,
            reply: `hello from ${to.label} port 80 to ::ffff:${ip[from.label as 'a']}`,
          });
        }
      }
      // Status comes from WireGuard itself: a handshake, bytes both ways, the peer's real endpoint.
      const status = await a.status();
      expect(status).toMatchObject({ state: 'running', connected: true, self: { name: 'a', tags: ['tag:a'] } });
      for (const p of status.peers) {
        expect(Date.parse(p.lastHandshake!)).toBeGreaterThan(Date.now() - 60_000);
        expect(p.rxBytes).toBeGreaterThan(0);
        expect(p.txBytes).toBeGreaterThan(0);
        expect(p.endpoint).toMatch(/^10\.77\.0\.\d+:41641$/);
      }
      expect(a.stateModes()).toEqual({ 'keys.json': 0o600, 'node.json': 0o600, 'map.json': 0o600 });
    });

    it('trellis status, ping and whois answer from the agent', async () => {
      const status = await a.cli(['status', '--json']);
      expect(JSON.parse(status.stdout)).toMatchObject({ state: 'running', self: { ipv4: ip.a } });
      const ping = await a.cli(['ping', 'b', '--count', '1']);
      expect(ping.stdout).toMatch(
        new RegExp(`^pong from b \\(${ip.b.replace(/\./g, '\\.')}\\) via ICMP in [\\d.]+ ms`),
      );
      const tcpPing = await a.cli(['ping', 'c', '--tcp', '80', '--count', '1']);
      expect(tcpPing.stdout).toMatch(/^pong from c .* via TCP 80 open in [\d.]+ ms/);
      const whois = await a.cli(['whois', ip.c, '--json']);
      expect(JSON.parse(whois.stdout).node).toMatchObject({ name: 'c', tags: ['tag:c'], self: false });
      const bad = await a.cli(['whois', '100.64.0']);
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain('"100.64.0" is not an IPv4 or IPv6 address');
    });

    it("each node answers the mesh's names at 100.100.100.100, from its own map, for itself only", async () => {
      // What a system resolver would ask: no systemd-resolved in the lab, so the test asks directly.
      const lookup = (h: Host, name: string, server = '100.100.100.100') =>
        h
          .exec('node', [
            '-e',
            `
      const r = new (require('node:dns').promises.Resolver)({ timeout: 1000, tries: 2 });
      r.setServers([process.argv[1]]);
      r.resolve4(process.argv[2]).then((a) => console.log(a.join(',')), (e) => console.log(e.code));`,
            server,
            name,
          ])
          .then((r) => r.stdout.trim());
      expect(await lookup(a.host, 'b.mesh.trellis.internal')).toBe(ip.b);
      expect(await lookup(a.host, 'C.mesh.trellis.internal.')).toBe(ip.c);
      expect(await lookup(b.host, 'a.mesh.trellis.internal')).toBe(ip.a);
      expect(await lookup(a.host, 'nobody.mesh.trellis.internal')).toBe('ENOTFOUND');
      // Every node's service address is its own: a peer cannot ask another node's server...
      expect(await lookup(a.host, 'b.mesh.trellis.internal', ip.b)).toBe('ECONNREFUSED');
      // ...and neither can a LAN neighbour that routes the address to the node.
      const neighbour = await lab.addHost('n');
      await neighbour.exec('ip', ['route', 'add', '100.100.100.100/32', 'via', a.host.address]);
      expect(await lookup(neighbour, 'b.mesh.trellis.internal')).toBe('ETIMEOUT');
      const status = JSON.parse((await a.cli(['status', '--json'])).stdout) as { dns?: unknown };
      expect(status.dns).toEqual({ domain: 'mesh.trellis.internal', server: '100.100.100.100', system: 'none' });
    });

    it('with a policy allowing only port 80 from A to B, A reaches B:80, B:22 is blocked, C reaches neither', async () => {
      await server.setPolicy(A_TO_B('80'));
      await b.until((s) => peersOf(s) === 'a', 'b sees only a');
      await c.until((s) => peersOf(s) === 'a', 'c sees only a');
      expect(await tcp(a, ip.b, 80)).toBe(true);
      expect(await tcp(a, ip.b6, 80)).toBe(true);
      expect(await tcp(a, ip.b, 22)).toBe(false);
      expect(await tcp(c, ip.b, 80)).toBe(false);
      expect(await tcp(c, ip.b, 22)).toBe(false);
      // The filter, not only the peer list: A is B's peer and still cannot open B:22.
      expect((await b.status()).peers.map((p) => p.name)).toContain('a');
      // A's filter admits nothing from B, yet A's own connection above got B's replies: the
      // filter drops new inbound flows, not answers to the node's own.
      expect(await tcp(b, ip.a, 22)).toBe(false);
    });

    it('a policy change opens and closes a port live', async () => {
      await server.setPolicy(A_TO_B('22,80'));
      await expect.poll(() => tcp(a, ip.b, 22), { timeout: 5_000 }).toBe(true);
      const before = (await a.status()).peers.find((p) => p.name === 'b')!;
      await server.setPolicy(A_TO_B('80'));
      await expect.poll(() => tcp(a, ip.b, 22), { timeout: 5_000 }).toBe(false);
      expect(await tcp(a, ip.b, 80)).toBe(true);
      // Only rules changed: the tunnel was not rebuilt.
      expect((await a.status()).peers.find((p) => p.name === 'b')!.lastHandshake).toBe(before.lastHandshake);
    });

    it('an agent restart keeps its identity, addresses and tunnels, and the node is not registered again', async () => {
      const before = await b.status();
      const nodes = async () => (await server.nodes()).map((n) => `${n.id} ${n.name} ${n.ipv4}`).sort();
      const nodesBefore = await nodes();
      const devicePids = await b.wireguardGoPids();
      expect(devicePids).toHaveLength(1);
      await b.stop();
      // Meanwhile the data plane it left keeps working: same tunnel, same rules.
      expect(await tcp(a, ip.b, 80)).toBe(true);
      expect(await tcp(a, ip.b, 22)).toBe(false);
      await b.start();
      const after = await b.until((s) => s.state === 'running' && s.connected, 'b running again');
      expect(after.self).toEqual(before.self);
      expect(await nodes()).toEqual(nodesBefore);
      expect(await b.wireguardGoPids()).toEqual(devicePids); // adopted, not replaced
      await expect.poll(() => tcp(a, ip.b, 80), { timeout: 10_000 }).toBe(true);
      expect(await tcp(a, ip.b, 22)).toBe(false); // the rules came back with it
    });

    it('with the server stopped, existing tunnels still carry traffic, a rebooted node restores its own, and agents reconnect when it returns', async () => {
      await server.stop();
      await a.until((s) => !s.connected, 'a notices the server is gone');
      expect(await tcp(a, ip.b, 80)).toBe(true);
      expect(await c.host.ping(ip.a)).toBe(true);
      expect(await tcp(a, ip.b, 22)).toBe(false);
      expect((await a.status()).state).toBe('running');
      // B loses power meanwhile: agent and interface gone. It comes back from its state directory
      // alone (the server is still down): same peers, same rules.
      await b.crash();
      expect((await b.host.exec('ip', ['-o', 'link'])).stdout).not.toContain(b.iface);
      await b.start();
      await b.until((s) => s.state === 'running' && s.peers.length > 0, 'b restored from its saved map');
      await expect.poll(() => tcp(a, ip.b, 80), { timeout: 10_000 }).toBe(true);
      expect(await tcp(a, ip.b, 22)).toBe(false);
      expect((await b.status()).connected).toBe(false);
      await server.start();
      await a.until((s) => s.connected, 'a reconnected', 40_000);
      await b.until((s) => s.connected, 'b reconnected', 40_000);
      await server.setPolicy(A_TO_B('22,80'));
      await expect.poll(() => tcp(a, ip.b, 22), { timeout: 5_000 }).toBe(true);
    }, 60_000);

    it('a deleted node disappears from its peers and its agent removes its tunnels', async () => {
      await server.setPolicy(ALLOW_ALL);
      await a.until((s) => s.peers.length === 2, 'a sees b and c again');
      const cId = (await c.until((s) => s.connected, 'c connected', 40_000)).self!.id;
      await server.deleteNode(cId);
      await a.until((s) => peersOf(s) === 'b', 'c gone from a');
      await b.until((s) => peersOf(s) === 'a', 'c gone from b');
      const gone = await c.until((s) => s.state === 'needs-login', 'c told to sign in again');
      expect(gone.lastError).toMatch(/node\.deleted/);
      expect(await a.host.ping(ip.c)).toBe(false);
      expect(await tcp(c, ip.a, 80)).toBe(false);
      expect(await a.host.ping(ip.b)).toBe(true);
    });

    it('down removes everything the agent created, and up brings the node back without a credential', async () => {
      const { exitCode } = await b.cli(['down']);
      expect(exitCode).toBe(0);
      const links = (await b.host.exec('ip', ['-o', 'link'])).stdout;
      expect(links).not.toContain(b.iface);
      expect((await b.host.exec('nft', ['list', 'ruleset'])).stdout).not.toMatch(/trellis/);
      expect((await b.host.exec('ip', ['route', 'show', 'table', 'all', 'proto', '126'])).stdout.trim()).toBe('');
      expect(await a.host.ping(ip.b)).toBe(false);
      const up = await b.cli(['up']);
      expect(up.exitCode, up.stderr).toBe(0);
      expect((await b.status()).self!.ipv4).toBe(ip.b);
      expect(await a.host.pingUntil(ip.b)).toBe(true);
    });
  },
);
