import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { publicKeyOf } from '../../client/wireguard/keys.ts';
import { UapiClient } from '../../client/wireguard/uapi-client.ts';
import { SERVER_KEY_FILE } from '../../server/relay/server-key.ts';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import { Lab } from './harness/lab.ts';
import { addNat } from './harness/nat.ts';
import { AgentHost } from './mesh/agent-host.ts';
import { ServerHost } from './mesh/server-host.ts';

/**
 * Real `trellis agent` processes behind NATs, on the server's relay. A, B and C each sit behind
 * their own NAT and can reach only the server's network, never each other; B's and C's NATs
 * map every destination to a fresh port, so no direct path can form and the pairs stay on the
 * relay (direct paths: paths.test.ts). The agents take the server as a WireGuard peer and
 * every peer on the relay endpoint, from their maps alone: nothing here configures a tunnel
 * by hand.
 */
const RELAY_PORT = 3478;
const POLICY = `{
  "tagOwners": { "tag:a": [], "tag:b": [], "tag:c": [] },
  "acls": [
    { "action": "accept", "src": ["tag:a", "tag:b"], "dst": ["tag:a:*", "tag:b:*"] },
    // C may reach A's nodes only: it is in the mesh, on the relay, and still never sees B.
    { "action": "accept", "src": ["tag:c"], "dst": ["tag:a:*"] },
  ],
}`;

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables')],
  "agents behind NATs reaching each other through the server's relay",
  () => {
    let lab: Lab;
    let server: ServerHost;
    let serverKey: string;
    const agents: Record<'a' | 'b' | 'c', AgentHost> = {} as never;
    const ip: Record<string, { v4: string; v6: string }> = {};
    const relayEndpoint = () => `${server.host.address}:${RELAY_PORT}`;

    async function joinMesh(n: AgentHost, tag: string): Promise<void> {
      const key = await server.preAuthKey({ tags: [tag] });
      const { exitCode, stderr } = await n.cli([
        'up',
        '--server',
        server.url,
        '--auth-key',
        key,
        '--hostname',
        n.label,
      ]);
      expect(exitCode, stderr).toBe(0);
      const self = (await n.status()).self!;
      ip[n.label] = { v4: self.ipv4, v6: self.ipv6 };
    }

    beforeAll(async () => {
      lab = await Lab.create();
      server = await ServerHost.start(lab, ['--relay.udpPort', String(RELAY_PORT)]);
      serverKey = publicKeyOf(readFileSync(join(server.dataDir, SERVER_KEY_FILE), 'utf8').trim());
      await server.setPolicy(POLICY);
      // One after another: the lab numbers segments as it creates them.
      const ra = await addNat(lab, 'ra');
      const rb = await addNat(lab, 'rb', { mapping: 'symmetric' });
      const rc = await addNat(lab, 'rc', { mapping: 'symmetric' });
      const hosts = { a: await ra.addHost('a'), b: await rb.addHost('b'), c: await rc.addHost('c') };
      await Promise.all(Object.entries(hosts).map(async ([k, h]) => (agents[k as 'a'] = await AgentHost.startOn(h))));
    }, 120_000);
    afterAll(async () => {
      await lab?.cleanup();
      server?.dispose();
      for (const n of Object.values(agents)) n.dispose();
    });

    it('two nodes behind separate NATs join with pre-auth keys and ping each other through the relay', async () => {
      const { a, b } = agents;
      // The underlay alone does not connect them: each NAT drops what the other did not ask for.
      expect(await a.host.ping(b.host.address)).toBe(false);
      const started = Date.now();
      await Promise.all([joinMesh(a, 'tag:a'), joinMesh(b, 'tag:b')]);
      await a.until((s) => s.peers.some((p) => p.name === 'b'), 'a sees b');
      await b.until((s) => s.peers.some((p) => p.name === 'a'), 'b sees a');
      expect(await a.host.pingUntil(ip.b!.v4, 10_000), 'a -> b').toBe(true);
      console.log(`relay-agent: first relayed ping ${Date.now() - started} ms after both started joining`);
      expect(await b.host.pingUntil(ip.a!.v4, 5_000), 'b -> a').toBe(true);
      expect(await a.host.pingUntil(ip.b!.v6, 5_000), 'a -> b over IPv6 in the tunnel').toBe(true);
      // Every packet went through the server's port: that is where WireGuard saw the peer.
      const peerB = (await a.status()).peers.find((p) => p.name === 'b')!;
      expect(peerB).toMatchObject({ path: 'relay', endpoint: relayEndpoint() });
      expect(Date.parse(peerB.lastHandshake!)).toBeGreaterThan(started - 1_000);
    });

    it('each agent keeps a tunnel to the server (the reflector and relay work only for nodes that do)', async () => {
      for (const n of [agents.a, agents.b]) {
        const server = (await new UapiClient(n.iface).get()).peers.find((p) => p.publicKey === serverKey);
        expect(server, `${n.label}: the server is a peer`).toMatchObject({
          endpoint: relayEndpoint(),
          allowedIPs: [],
          persistentKeepalive: 25,
        });
        expect(server!.lastHandshake, `${n.label}: handshake with the server`).toBeInstanceOf(Date);
        expect(server!.rxBytes, `${n.label}: bytes from the server`).toBeGreaterThan(0);
      }
      // Status lists mesh peers only; the server is not one of them.
      expect((await agents.a.status()).peers.map((p) => p.publicKey)).not.toContain(serverKey);
    });

    it('a node the policy keeps apart reaches nothing it is not allowed, even on the relay', async () => {
      const { a, b, c } = agents;
      await joinMesh(c, 'tag:c');
      await c.until((s) => s.peers.map((p) => p.name).join() === 'a', 'c sees only a');
      expect(await c.host.pingUntil(ip.a!.v4, 10_000), 'c -> a (allowed)').toBe(true);
      expect(await c.host.pingUntil(ip.b!.v4, 3_000), 'c -> b').toBe(false);
      expect(await b.host.pingUntil(ip.c!.v4, 3_000), 'b -> c').toBe(false);
      expect((await b.status()).peers.map((p) => p.name)).not.toContain('c');
      expect(await a.host.ping(ip.b!.v4, 2)).toBe(true); // the allowed pair still works
    });

    it('after a server restart, relayed traffic resumes as soon as the agents are back on the map stream', async () => {
      const { a, b } = agents;
      // The relay's routes and the mappings it observed lived in the old process. WireGuard alone
      // would notice only when a session goes unanswered for 15 s; the agents handshake afresh.
      await server.stop();
      await server.start(['--relay.udpPort', String(RELAY_PORT)]);
      const back = Date.now();
      expect(await a.host.pingUntil(ip.b!.v4, 10_000), 'a -> b after the restart').toBe(true);
      console.log(`relay-agent: relayed traffic resumed ${Date.now() - back} ms after the server was back`);
      expect(await b.host.pingUntil(ip.a!.v4, 5_000), 'b -> a').toBe(true);
    });
  },
);
