import { describe, expect, it } from 'vitest';
import { MapState } from '../../../client/control/map-state.ts';
import type { FullMap } from '../../../protocol/map.ts';

const relayOf = (udpPort: number, instance: string) => ({ udpPort, wsPath: '/relay', instance });
const full: FullMap = {
  type: 'full',
  version: 10,
  self: {
    id: 'n-self',
    name: 'self',
    wireguardKey: 'k',
    addresses: [],
    allowedIPs: [],
    endpoints: [],
    tags: [],
    online: true,
    machineKey: 'm',
    ipv4: '100.64.0.1',
    ipv6: 'fd7a:115c:a1e0::1',
    ephemeral: false,
    advertisedRoutes: [],
    approvedRoutes: [],
  },
  peers: [],
  packetFilter: [],
  dns: { domain: 'mesh.test', nameservers: [] },
  relay: relayOf(3478, 'first'),
  protocolVersion: 14,
  changeSeq: 41,
};

describe('map state: the change-log seq and a resume on another replica', () => {
  it('keeps the seq of the last message, and forgets it after a delta that names none', () => {
    const m = new MapState();
    m.apply(full);
    expect(m.changeSeq).toBe(41);
    m.apply({ type: 'delta', version: 11, fromVersion: 10, changeSeq: 45 });
    expect(m.changeSeq).toBe(45);
    // From a server before protocol 15: keeping 45 would claim changes this map may lack.
    m.apply({ type: 'delta', version: 12, fromVersion: 11 });
    expect(m.changeSeq).toBeUndefined();
  });

  it("takes the new replica's settings from a resume delta and keeps what it leaves out", () => {
    const m = new MapState();
    m.apply(full);
    m.apply({
      type: 'delta',
      version: 5_000,
      fromVersion: 10,
      relay: relayOf(3479, 'second'),
      meshRanges: ['100.64.0.0/10'],
      protocolVersion: 15,
      changeSeq: 50,
    });
    expect(m.relay).toEqual(relayOf(3479, 'second'));
    expect(m.meshRanges).toEqual(['100.64.0.0/10']);
    expect(m.serverProtocolVersion).toBe(15);
    expect(m.dns).toEqual(full.dns);
    expect(m.version).toBe(5_000);
  });
});
