import { describe, expect, it } from 'vitest';
import { reconfig } from '../../../client/agent/reconfig.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import type { RelayConfig } from '../../../protocol/map.ts';
import type { Peer, SelfNode } from '../../../protocol/node.ts';

const key = () => generateKeyPair().publicKey;
const peer = (id: string, n: number, extra: Partial<Peer> = {}): Peer => ({
  id, name: id, wireguardKey: key(), addresses: [`100.64.0.${n}/32`], allowedIPs: [`100.64.0.${n}/32`],
  endpoints: [`10.0.0.${n}:41641`], tags: [], online: true, ...extra,
});
const self: SelfNode = {
  ...peer('me', 1, { observedEndpoint: '198.51.100.7:61000' }), machineKey: key(), ipv4: '100.64.0.1', ipv6: 'fd7a:115c:a1e0::1',
  ephemeral: false, advertisedRoutes: [], approvedRoutes: [],
};
const own = generateKeyPair();
const serverKey = key();
const relay: RelayConfig = { udpPort: 3478, wsPath: '/api/v1/relay', wireguardKey: serverKey, endpoint: '203.0.113.5:3478' };
const BRIDGE = '127.0.0.1:50123';

describe('reconfig with the relay reached through the WebSocket bridge', () => {
  it('gives the bridge\'s local endpoint to the server peer and to every peer on the relay', () => {
    const peers = [peer('a', 2), peer('b', 3)];
    const c = reconfig({ self, peers, packetFilter: [], relay }, { privateKey: own.privateKey, listenPort: 41641, relayEndpoint: BRIDGE });
    expect(c.peers.map((p) => p.endpoint)).toEqual([BRIDGE, BRIDGE, BRIDGE]);
    expect(c.peers[0]).toMatchObject({ publicKey: serverKey, allowedIPs: [], persistentKeepalive: 25 });
  });

  it('needs no resolvable server address for it', () => {
    const c = reconfig({ self, peers: [], packetFilter: [], relay: { ...relay, endpoint: undefined } }, { privateKey: own.privateKey, listenPort: 41641, relayEndpoint: BRIDGE });
    expect(c.peers[0]?.endpoint).toBe(BRIDGE);
  });

  it('leaves a peer on the direct path the path manager found on its direct address', () => {
    const lan = peer('lan', 4, { endpoints: ['192.168.1.4:41641'], observedEndpoint: '198.51.100.7:62000' });
    const c = reconfig({ self, peers: [lan], packetFilter: [], relay }, {
      privateKey: own.privateKey, listenPort: 41641, relayEndpoint: BRIDGE, directPaths: new Map([[lan.wireguardKey, '192.168.1.4:41641']]),
    });
    expect(c.peers.find((p) => p.publicKey === lan.wireguardKey)?.endpoint).toBe('192.168.1.4:41641');
  });

  it('has no effect without a relay in the map', () => {
    const c = reconfig({ self, peers: [peer('a', 2)], packetFilter: [] }, { privateKey: own.privateKey, listenPort: 41641, relayEndpoint: BRIDGE });
    expect(c.peers.map((p) => p.endpoint)).toEqual(['10.0.0.2:41641']);
  });
});
