import { describe, expect, it } from 'vitest';
import { reconfig } from '../../../client/agent/reconfig.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import type { FilterRule } from '../../../protocol/filter.ts';
import type { Peer, SelfNode } from '../../../protocol/node.ts';

const key = () => generateKeyPair().publicKey;
const peer = (id: string, n: number, extra: Partial<Peer> = {}): Peer => ({
  id,
  name: id,
  wireguardKey: key(),
  addresses: [`100.64.0.${n}/32`, `fd7a:115c:a1e0::${n}/128`],
  allowedIPs: [`100.64.0.${n}/32`, `fd7a:115c:a1e0::${n}/128`],
  endpoints: [`10.0.0.${n}:41641`, `[2001:db8::${n}]:41641`],
  tags: [],
  online: true,
  ...extra,
});
const self: SelfNode = {
  ...peer('me', 1),
  machineKey: key(),
  ipv4: '100.64.0.1',
  ipv6: 'fd7a:115c:a1e0::1',
  ephemeral: false,
  advertisedRoutes: [],
  approvedRoutes: [],
};
const own = generateKeyPair();
const opts = { privateKey: own.privateKey, listenPort: 41641 };

describe('reconfig: from the network map to what the engine applies', () => {
  it('gives the device our key and port, and our addresses as host prefixes', () => {
    const c = reconfig({ self, peers: [], packetFilter: [] }, opts);
    expect(c.device).toEqual({ privateKey: own.privateKey, listenPort: 41641 });
    expect(c.addresses).toEqual(['100.64.0.1/32', 'fd7a:115c:a1e0::1/128']);
    expect(c.peers).toEqual([]);
  });

  it('takes the mesh ranges from the map when it names them, and leaves them to the engine otherwise', () => {
    expect(
      reconfig({ self, peers: [], packetFilter: [], meshRanges: ['10.123.0.0/16', 'fd00:7:7::/48'] }, opts).meshRanges,
    ).toEqual(['10.123.0.0/16', 'fd00:7:7::/48']);
    expect(reconfig({ self, peers: [], packetFilter: [] }, opts)).not.toHaveProperty('meshRanges');
  });

  it('makes one WireGuard peer per map peer with its allowed IPs and its best endpoint', () => {
    const b = peer('b', 2);
    const c = reconfig({ self, peers: [b], packetFilter: [] }, opts);
    expect(c.peers).toEqual([{ publicKey: b.wireguardKey, allowedIPs: b.allowedIPs, endpoint: '10.0.0.2:41641' }]);
  });

  it('leaves the endpoint to the device when the map has none (the peer reaches us first)', () => {
    const c = reconfig({ self, peers: [peer('b', 2, { endpoints: [] })], packetFilter: [] }, opts);
    expect(c.peers[0]).not.toHaveProperty('endpoint');
  });

  it('routes every peer allowed IP, subnet routes included, once each', () => {
    const b = peer('b', 2, { allowedIPs: ['100.64.0.2/32', '10.20.0.0/16'] });
    const d = peer('d', 4, { allowedIPs: ['100.64.0.4/32', '10.20.0.0/16'] });
    expect(reconfig({ self, peers: [b, d], packetFilter: [] }, opts).peerRoutes).toEqual([
      '10.20.0.0/16',
      '100.64.0.2/32',
      '100.64.0.4/32',
    ]);
  });

  it('skips a peer carrying our own key or a key already used, so the device config stays unambiguous', () => {
    const b = peer('b', 2);
    const twin = { ...peer('c', 3), wireguardKey: b.wireguardKey };
    const mirror = { ...peer('d', 4), wireguardKey: self.wireguardKey };
    expect(
      reconfig({ self, peers: [twin, mirror, b], packetFilter: [] }, opts).peers.map((p) => p.allowedIPs[0]),
    ).toEqual(['100.64.0.2/32']);
  });

  it('orders peers by id, so the same map always gives the same config', () => {
    const peers = [peer('c', 3), peer('a', 5), peer('b', 2)];
    const one = reconfig({ self, peers, packetFilter: [] }, opts);
    const two = reconfig({ self, peers: [...peers].reverse(), packetFilter: [] }, opts);
    expect(one).toEqual(two);
    expect(one.peers.map((p) => p.allowedIPs[0])).toEqual(['100.64.0.5/32', '100.64.0.2/32', '100.64.0.3/32']);
  });

  it('passes the inbound filter through untouched (the server compiled it; the firewall enforces it)', () => {
    const filter: FilterRule[] = [
      { srcIPs: ['100.64.0.2'], dstPorts: [{ ip: '100.64.0.1', ports: { first: 80, last: 80 } }], ipProto: [6] },
    ];
    expect(reconfig({ self, peers: [], packetFilter: filter }, opts).filter).toEqual(filter);
  });

  it('turns keepalives on only when asked', () => {
    const c = reconfig({ self, peers: [peer('b', 2)], packetFilter: [] }, { ...opts, persistentKeepalive: 25 });
    expect(c.peers[0]!.persistentKeepalive).toBe(25);
  });
});
