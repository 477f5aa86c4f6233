import { describe, expect, it } from 'vitest';
import { reconfig, SERVER_KEEPALIVE_S } from '../../../client/agent/reconfig.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import type { RelayConfig } from '../../../protocol/map.ts';
import type { Peer, SelfNode } from '../../../protocol/node.ts';

const key = () => generateKeyPair().publicKey;
const peer = (id: string, n: number, extra: Partial<Peer> = {}): Peer => ({
  id,
  name: id,
  wireguardKey: key(),
  addresses: [`100.64.0.${n}/32`],
  allowedIPs: [`100.64.0.${n}/32`],
  endpoints: [`10.0.0.${n}:41641`],
  tags: [],
  online: true,
  ...extra,
});
const self: SelfNode = {
  ...peer('me', 1, { observedEndpoint: '198.51.100.7:61000' }),
  machineKey: key(),
  ipv4: '100.64.0.1',
  ipv6: 'fd7a:115c:a1e0::1',
  ephemeral: false,
  advertisedRoutes: [],
  approvedRoutes: [],
};
const own = generateKeyPair();
const opts = { privateKey: own.privateKey, listenPort: 41641, serverHost: '203.0.113.5' };
const serverKey = key();
const relay: RelayConfig = { udpPort: 3478, wsPath: '/relay', wireguardKey: serverKey };

describe("reconfig with the server's relay in the map", () => {
  it('adds the server as a peer: its key, the control host with the relay port, no allowed IPs, a keepalive', () => {
    const c = reconfig({ self, peers: [], packetFilter: [], relay }, opts);
    expect(c.peers).toEqual([
      { publicKey: serverKey, allowedIPs: [], endpoint: '203.0.113.5:3478', persistentKeepalive: SERVER_KEEPALIVE_S },
    ]);
    expect(SERVER_KEEPALIVE_S).toBe(25);
    // Nothing of the mesh is routed to the server.
    expect(c.peerRoutes).toEqual([]);
  });

  it('prefers the endpoint the map names over the control host', () => {
    const c = reconfig({ self, peers: [], packetFilter: [], relay: { ...relay, endpoint: '192.0.2.9:40000' } }, opts);
    expect(c.peers[0]!.endpoint).toBe('192.0.2.9:40000');
  });

  it('brackets an IPv6 control host', () => {
    const c = reconfig({ self, peers: [], packetFilter: [], relay }, { ...opts, serverHost: '2001:db8::5' });
    expect(c.peers[0]!.endpoint).toBe('[2001:db8::5]:3478');
  });

  it('puts a peer on the direct path the path manager found for it, the others on the relay', () => {
    const lan = peer('lan', 2, { endpoints: ['192.168.7.20:41641'] });
    const far = peer('far', 3, { endpoints: ['10.9.0.3:41641'], observedEndpoint: '203.0.113.77:1000' });
    const directPaths = new Map([
      [lan.wireguardKey, '192.168.7.20:41641'],
      [key(), '192.0.2.1:1'],
    ]);
    const c = reconfig({ self, peers: [lan, far], packetFilter: [], relay }, { ...opts, directPaths });
    const endpoint = (p: Peer) => c.peers.find((x) => x.publicKey === p.wireguardKey)!.endpoint;
    expect(endpoint(lan)).toBe('192.168.7.20:41641');
    expect(endpoint(far)).toBe('203.0.113.5:3478');
    // A path for a key that is not in the map adds no peer.
    expect(c.peers).toHaveLength(3);
  });

  it('puts every mesh peer on the relay when none is on our links, whatever endpoints it reported', () => {
    const b = peer('b', 2, { observedEndpoint: '198.51.100.2:50000' });
    const d = peer('d', 4);
    const c = reconfig({ self, peers: [d, b], packetFilter: [], relay }, opts);
    expect(c.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIPs])).toEqual([
      [serverKey, '203.0.113.5:3478', []],
      [b.wireguardKey, '203.0.113.5:3478', b.allowedIPs],
      [d.wireguardKey, '203.0.113.5:3478', d.allowedIPs],
    ]);
    // Relayed peers share the server tunnel's NAT mapping: they need no keepalive of their own.
    expect(c.peers.slice(1).every((p) => p.persistentKeepalive === undefined)).toBe(true);
    expect(c.peerRoutes).toEqual(['100.64.0.2/32', '100.64.0.4/32']);
  });

  it('never uses our own observed mapping as an endpoint', () => {
    const c = reconfig({ self, peers: [peer('b', 2)], packetFilter: [], relay }, opts);
    expect(JSON.stringify(c)).not.toContain(self.observedEndpoint);
  });

  it('keeps direct endpoints when the relay is off, has no key, or has no known address', () => {
    const b = peer('b', 2);
    for (const [r, o] of [
      [undefined, opts],
      [{ udpPort: 0, wsPath: '' }, opts],
      [{ udpPort: 3478, wsPath: '' }, opts],
      [{ ...relay, udpPort: 0 }, opts],
      [relay, { privateKey: own.privateKey, listenPort: 41641 }],
    ] as const) {
      const c = reconfig({ self, peers: [b], packetFilter: [], ...(r && { relay: r }) }, o);
      expect(c.peers).toEqual([{ publicKey: b.wireguardKey, allowedIPs: b.allowedIPs, endpoint: '10.0.0.2:41641' }]);
    }
  });

  it("skips a map peer that carries the server's key, so the device config stays unambiguous", () => {
    const impostor = peer('b', 2, { wireguardKey: serverKey });
    const c = reconfig({ self, peers: [impostor], packetFilter: [], relay }, opts);
    expect(c.peers).toHaveLength(1);
    expect(c.peers[0]!.allowedIPs).toEqual([]);
  });
});

describe('reconfig with the relay reached through the WebSocket bridge', () => {
  const relay: RelayConfig = { udpPort: 3478, wsPath: '/relay', wireguardKey: serverKey, endpoint: '203.0.113.5:3478' };
  const BRIDGE = '127.0.0.1:50123';

  it("gives the bridge's local endpoint to the server peer and to every peer on the relay", () => {
    const peers = [peer('a', 2), peer('b', 3)];
    const c = reconfig(
      { self, peers, packetFilter: [], relay },
      { privateKey: own.privateKey, listenPort: 41641, relayEndpoint: BRIDGE },
    );
    expect(c.peers.map((p) => p.endpoint)).toEqual([BRIDGE, BRIDGE, BRIDGE]);
    expect(c.peers[0]).toMatchObject({ publicKey: serverKey, allowedIPs: [], persistentKeepalive: 25 });
  });

  it('needs no resolvable server address for it', () => {
    const c = reconfig(
      { self, peers: [], packetFilter: [], relay: { ...relay, endpoint: undefined } },
      { privateKey: own.privateKey, listenPort: 41641, relayEndpoint: BRIDGE },
    );
    expect(c.peers[0]?.endpoint).toBe(BRIDGE);
  });

  it('leaves a peer on the direct path the path manager found on its direct address', () => {
    const lan = peer('lan', 4, { endpoints: ['192.168.1.4:41641'], observedEndpoint: '198.51.100.7:62000' });
    const c = reconfig(
      { self, peers: [lan], packetFilter: [], relay },
      {
        privateKey: own.privateKey,
        listenPort: 41641,
        relayEndpoint: BRIDGE,
        directPaths: new Map([[lan.wireguardKey, '192.168.1.4:41641']]),
      },
    );
    expect(c.peers.find((p) => p.publicKey === lan.wireguardKey)?.endpoint).toBe('192.168.1.4:41641');
  });

  it('has no effect without a relay in the map', () => {
    const c = reconfig(
      { self, peers: [peer('a', 2)], packetFilter: [] },
      { privateKey: own.privateKey, listenPort: 41641, relayEndpoint: BRIDGE },
    );
    expect(c.peers.map((p) => p.endpoint)).toEqual(['10.0.0.2:41641']);
  });
});
