import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { publicKeyOf } from '../../client/wireguard/keys.ts';
import type { PeerConfig } from '../../client/wireguard/peer-diff.ts';
import { SERVER_KEY_FILE } from '../../server/relay/server-key.ts';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import { startDataplaneNode, type DataplaneNode } from './harness/dataplane-node.ts';
import { Lab } from './harness/lab.ts';
import { addNat, type Nat } from './harness/nat.ts';
import { REPO_ROOT } from './mesh/repo.ts';
import { ServerHost } from './mesh/server-host.ts';

/**
 * The server's UDP port against real wireguard-go: three nodes, each behind its own NAT
 * (MASQUERADE), that can reach the server's namespace but not each other. Each configures the
 * server as a WireGuard peer; the TypeScript responder must complete their handshakes and the
 * server must see each NAT's public mapping. Then two nodes the policy pairs reach each other
 * through the relay, and a node the policy keeps apart cannot.
 */
const RELAY_PORT = 3478;
const SCRIPT = join(REPO_ROOT, 'test/e2e/relay/control-script.ts');
const POLICY = `{
  "tagOwners": { "tag:pair": [], "tag:other": [], "tag:observer": [] },
  "acls": [
    { "action": "accept", "src": ["tag:pair"], "dst": ["tag:pair:*"] },
    { "action": "accept", "src": ["tag:observer"], "dst": ["*:*"] },
  ],
}`;

describeWith([isRoot(), hasCommand('wireguard-go')], "the server's UDP port with real wireguard-go peers", () => {
  let lab: Lab;
  let server: ServerHost;
  let serverKey: string;
  const nats: Record<'a' | 'b' | 'c', Nat> = {} as never;
  const nodes: Record<'a' | 'b' | 'c', DataplaneNode> = {} as never;
  /** A second allowed pair, configured only in the last test: as agents start, from nothing. */
  const late: Record<'d' | 'e', DataplaneNode> = {} as never;
  const relayEndpoint = () => `${server.host.address}:${RELAY_PORT}`;
  const serverPeer = (): PeerConfig => ({
    publicKey: serverKey,
    endpoint: relayEndpoint(),
    allowedIPs: [],
    persistentKeepalive: 1,
  });
  /** `other` as a peer reached through the relay: its key, its mesh addresses, the server's endpoint. */
  const viaRelay = (other: DataplaneNode): PeerConfig => ({ ...other.asPeer(), endpoint: relayEndpoint() });
  const script = (args: string[], timeoutMs = 20_000) =>
    server.host.exec('node', ['--import', 'tsx', SCRIPT, ...args], { timeoutMs });

  beforeAll(async () => {
    lab = await Lab.create();
    server = await ServerHost.start(lab, ['--relay.udpPort', String(RELAY_PORT)]);
    serverKey = publicKeyOf(readFileSync(join(server.dataDir, SERVER_KEY_FILE), 'utf8').trim());
    await server.setPolicy(POLICY);
    const names = ['a', 'b', 'c'] as const;
    for (const [i, name] of names.entries()) {
      nats[name] = await addNat(lab, `r${name}`);
      nodes[name] = await startDataplaneNode(await nats[name].addHost(name), i + 1);
      const key = await server.preAuthKey({ tags: [name === 'c' ? 'tag:other' : 'tag:pair'] });
      await script(['join', server.url, key, name, nodes[name].keys.publicKey]);
    }
    for (const [i, name] of (['d', 'e'] as const).entries()) {
      const nat = await addNat(lab, `r${name}`);
      late[name] = await startDataplaneNode(await nat.addHost(name), 10 + i);
      await script([
        'join',
        server.url,
        await server.preAuthKey({ tags: ['tag:pair'] }),
        name,
        late[name].keys.publicKey,
      ]);
    }
  }, 120_000);
  afterAll(async () => {
    await Promise.allSettled([...Object.values(nodes), ...Object.values(late)].map((n) => n.close()));
    await lab?.cleanup();
    server?.dispose();
  });

  it('wireguard-go completes its handshake with the TypeScript responder, and keepalives flow both ways', async () => {
    for (const n of Object.values(nodes)) await n.device.applyPeers([serverPeer()]);
    for (const [name, n] of Object.entries(nodes)) {
      const deadline = Date.now() + 10_000;
      let peer = (await n.device.state()).peers[0];
      while (!(peer?.lastHandshake && peer.rxBytes > 32) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        peer = (await n.device.state()).peers[0];
      }
      expect(peer?.publicKey).toBe(serverKey);
      expect(peer?.lastHandshake, `${name}: last_handshake_time`).toBeInstanceOf(Date);
      // 92 bytes of response plus keepalives the server sent back under the new session.
      expect(peer!.rxBytes, `${name}: bytes from the server`).toBeGreaterThan(92);
    }
  });

  it("the server records each node's public address (its NAT's mapping) and peers get it in their map", async () => {
    const observerKey = await server.preAuthKey({ tags: ['tag:observer'] });
    const { stdout } = await script(['watch', server.url, observerKey, '15000', 'a', 'b', 'c']);
    const observed = JSON.parse(stdout) as Record<string, string>;
    for (const name of ['a', 'b', 'c'] as const) {
      const [ip, port] = observed[name]!.split(':');
      expect(ip, `${name}: seen from its NAT's outside address`).toBe(nats[name].publicAddress);
      expect(Number(port)).toBeGreaterThan(0);
    }
  });

  it('two nodes that cannot reach each other ping through the relay, both ways', async () => {
    const { a, b } = nodes;
    await a.device.applyPeers([serverPeer(), viaRelay(b)]);
    await b.device.applyPeers([serverPeer(), viaRelay(a)]);
    expect(await a.host.pingUntil(b.ipv4, 10_000), 'a -> b through the relay').toBe(true);
    expect(await b.host.pingUntil(a.ipv4, 5_000), 'b -> a through the relay').toBe(true);
    expect(await a.host.pingUntil(b.ipv6, 5_000), 'a -> b on IPv6 inside the tunnel').toBe(true);
    const peerB = (await a.device.state()).peers.find((p) => p.publicKey === b.keys.publicKey)!;
    expect(peerB.lastHandshake).toBeInstanceOf(Date);
    expect(peerB.endpoint).toBe(relayEndpoint()); // every packet came from the server's port
  });

  it('a pair the policy keeps apart gets nothing through, whoever initiates', async () => {
    const { a, b, c } = nodes;
    await a.device.applyPeers([serverPeer(), viaRelay(b), viaRelay(c)]);
    await c.device.applyPeers([serverPeer(), viaRelay(a)]);
    expect(await c.host.pingUntil(a.ipv4, 3_000)).toBe(false);
    expect(await a.host.pingUntil(c.ipv4, 3_000)).toBe(false);
    for (const [from, to] of [
      [a, c],
      [c, a],
    ] as const) {
      const peer = (await from.device.state()).peers.find((p) => p.publicKey === to.keys.publicKey)!;
      expect(peer.lastHandshake, `${from.host.label} -> ${to.host.label}`).toBeUndefined();
    }
    expect(await a.host.ping(b.ipv4, 2)).toBe(true); // the allowed pair still works
  });

  it('two nodes that bring up the server tunnel and each other on the relay at the same moment ping at once', async () => {
    const { d, e } = late;
    const started = Date.now();
    await Promise.all([
      d.device.applyPeers([serverPeer(), viaRelay(e)]),
      e.device.applyPeers([serverPeer(), viaRelay(d)]),
    ]);
    expect(await d.host.pingUntil(e.ipv4, 5_000)).toBe(true);
    const firstPacketMs = Date.now() - started;
    // Held until both are known, crossing initiations resolved: no 5 s WireGuard retry.
    expect(firstPacketMs, 'time to the first relayed ping').toBeLessThan(2_000);
  });
});
