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
 * Topology (e): a node whose network lets only TCP out. A sits behind a NAT whose router drops
 * every UDP packet, so neither its WireGuard nor anything else reaches the server's UDP port;
 * only TCP to the server's HTTP port works. B sits behind an ordinary NAT. Real agents with the
 * default `--relay-transport auto`: A's STUN requests to the relay port go unanswered (and its
 * handshake with the server over UDP never completes), so its agent bridges WireGuard to the
 * relay over a WebSocket on the server's HTTP port, and A and B reach each other through the
 * relay, A's half of it over TCP.
 */
const RELAY_PORT = 3478;
const POLICY = `{
  "tagOwners": { "tag:a": [], "tag:b": [] },
  "acls": [{ "action": "accept", "src": ["tag:a", "tag:b"], "dst": ["tag:a:*", "tag:b:*"] }],
}`;

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables')],
  'a node that can reach the server only over TCP, on the WebSocket relay',
  () => {
    let lab: Lab;
    let server: ServerHost;
    let serverKey: string;
    const agents: Record<'a' | 'b', AgentHost> = {} as never;
    const ip: Record<string, string> = {};
    const relayEndpoint = () => `${server.host.address}:${RELAY_PORT}`;
    const bridgeEndpoint = /^127\.0\.0\.1:\d+$/;

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
      ip[n.label] = (await n.status()).self!.ipv4;
    }

    beforeAll(async () => {
      lab = await Lab.create();
      server = await ServerHost.start(lab, ['--relay.udpPort', String(RELAY_PORT)]);
      serverKey = publicKeyOf(readFileSync(join(server.dataDir, SERVER_KEY_FILE), 'utf8').trim());
      await server.setPolicy(POLICY);
      const ra = await addNat(lab, 'ra', { blockUdp: true });
      const rb = await addNat(lab, 'rb');
      const hosts = { a: await ra.addHost('a'), b: await rb.addHost('b') };
      await Promise.all(Object.entries(hosts).map(async ([k, h]) => (agents[k as 'a'] = await AgentHost.startOn(h))));
    }, 120_000);
    afterAll(async () => {
      await lab?.cleanup();
      server?.dispose();
      for (const n of Object.values(agents)) n?.dispose();
    });

    it('the underlay lets A reach the server over TCP only', async () => {
      const reflector = await server.host.reflectUdp(7000);
      await expect(
        agents.a.host.probeUdp(40000, [`${server.host.address}:7000`], 1_000),
        'UDP from A',
      ).rejects.toThrow();
      expect(await agents.b.host.probeUdp(40000, [`${server.host.address}:7000`], 2_000), 'UDP from B').toHaveLength(1);
      await reflector.stop();
      const tcp = await server.host.serveTcp([9000]);
      expect(await agents.a.host.connectTcp(server.host.address, 9000), 'TCP from A').toMatchObject({ ok: true });
      await tcp.stop();
    });

    it('A pings B through the relay, its half over the WebSocket, and B pings A back', async () => {
      const { a, b } = agents;
      const started = Date.now();
      await Promise.all([joinMesh(a, 'tag:a'), joinMesh(b, 'tag:b')]);
      await a.until((s) => s.peers.some((p) => p.name === 'b'), 'a sees b');
      await b.until((s) => s.peers.some((p) => p.name === 'a'), 'b sees a');
      const joined = Date.now();
      expect(await a.host.pingUntil(ip.b!, 30_000), 'a -> b').toBe(true);
      const firstPacket = Date.now();
      console.log(
        `ws-relay: first ping A -> B ${firstPacket - started} ms after both started joining (${firstPacket - joined} ms after both had their maps)`,
      );
      // Under a second of STUN to the relay port that never answers while the bridge is connected,
      // then handshakes start afresh over the WebSocket (before: ~5 s, WireGuard's first retry).
      expect(firstPacket - joined, 'time from the maps to the first packet').toBeLessThan(3_500);
      expect(await b.host.pingUntil(ip.a!, 5_000), 'b -> a').toBe(true);

      // A: the WebSocket, and WireGuard sees the relay (server peer and B alike) at the local bridge.
      const statusA = await a.status();
      expect(statusA.relayTransport).toBe('websocket');
      const peerB = statusA.peers.find((p) => p.name === 'b')!;
      expect(peerB.endpoint).toMatch(bridgeEndpoint);
      expect(Date.parse(peerB.lastHandshake!)).toBeGreaterThan(started - 1_000);
      const serverPeer = (await new UapiClient(a.iface).get()).peers.find((p) => p.publicKey === serverKey)!;
      expect(serverPeer.endpoint, "A's server peer").toBe(peerB.endpoint);
      expect(serverPeer.lastHandshake, "A's handshake with the server, over the WebSocket").toBeInstanceOf(Date);
      const { stdout } = await a.cli(['status']);
      expect(stdout).toContain('relay:  over a WebSocket to the server');

      // B: plain UDP, A reached at the server's UDP port.
      const statusB = await b.status();
      expect(statusB.relayTransport).toBe('udp');
      expect(statusB.peers.find((p) => p.name === 'a')?.endpoint).toBe(relayEndpoint());
    });

    it('keeps carrying traffic both ways', async () => {
      const { a, b } = agents;
      expect(await a.host.ping(ip.b!, 2)).toBe(true);
      expect(await b.host.ping(ip.a!, 2)).toBe(true);
      const conn = await b.host.serveTcp([8443]);
      const reply = await a.host.connectTcp(ip.b!, 8443, 5_000);
      await conn.stop();
      expect(reply).toMatchObject({ ok: true });
    });
  },
);
