import { describe, expect, it } from 'vitest';
import type { EngineConfig } from '../../../client/agent/reconfig.ts';
import { withExitNodes } from '../../../client/exit-node/exit-config.ts';
import { exitDnsRule } from '../../../client/exit-node/exit-dns-rule.ts';
import { advertisedWithExit } from '../../../client/exit-node/advertise.ts';
import type { FilterRule } from '../../../protocol/filter.ts';

const MESH = ['100.64.0.0/10', 'fd7a:115c:a1e0::/48'];
const base: EngineConfig = {
  device: { privateKey: 'k', listenPort: 1 },
  peers: [
    { publicKey: 'A', allowedIPs: ['100.64.0.1/32', '0.0.0.0/0', '::/0'] },
    { publicKey: 'B', allowedIPs: ['100.64.0.2/32'] },
  ],
  addresses: ['100.64.0.9/32', 'fd7a:115c:a1e0::9/128'],
  peerRoutes: [],
  filter: [],
};
const internet: FilterRule = {
  srcIPs: ['100.64.0.3'],
  dstPorts: [{ ip: '8.0.0.0/7', ports: { first: 0, last: 65535 } }],
  ipProto: [6],
};
const meshOnly: FilterRule = {
  srcIPs: ['100.64.0.4'],
  dstPorts: [{ ip: '100.64.0.9', ports: { first: 22, last: 22 } }],
  ipProto: [6],
};

describe('exit nodes in the engine config', () => {
  it("gives the chosen exit node its exitRoutes, strips exit routes from every other peer (old servers' allowed IPs), none without a choice", () => {
    const map = { self: { approvedRoutes: [] }, packetFilter: [] };
    const choice = {
      wanted: 'b',
      peer: {
        id: 'b',
        name: 'b',
        addresses: ['100.64.0.2/32'],
        allowedIPs: ['100.64.0.2/32'],
        exitRoutes: ['0.0.0.0/0'],
      } as never,
      families: new Set([4 as const]),
    };
    const used = withExitNodes(
      base,
      map,
      { choice, allowLan: false, bypass: ['10.0.0.1'] },
      (id) => id.toUpperCase(),
      MESH,
    );
    expect(used.peers.map((p) => p.allowedIPs)).toEqual([['100.64.0.1/32'], ['100.64.0.2/32', '0.0.0.0/0']]);
    expect(used.exitNode).toEqual({
      name: 'b',
      resolvers: ['100.64.0.2'],
      families: [4],
      allowLan: false,
      bypass: ['10.0.0.1'],
    });
    const unused = withExitNodes(base, map, undefined, () => undefined, MESH);
    expect(unused.peers.flatMap((p) => p.allowedIPs).filter((r) => r.endsWith('/0'))).toEqual([]);
    expect(unused.exitNode).toBeUndefined();
    expect(unused.gateway).toBe(false);
  });

  it('an offline exit node routes nothing: traffic is refused at once, still behind the kill switch', () => {
    const peer = {
      id: 'b',
      name: 'b',
      addresses: ['100.64.0.2/32'],
      allowedIPs: [],
      exitRoutes: ['0.0.0.0/0'],
      online: false,
    };
    const used = withExitNodes(
      base,
      { self: { approvedRoutes: [] }, packetFilter: [] },
      { choice: { wanted: 'b', peer: peer as never, families: new Set([4 as const]) }, allowLan: false, bypass: [] },
      () => 'B',
      MESH,
    );
    expect(used.exitNode).toMatchObject({ name: 'b', families: [] });
  });

  it('a choice no peer matches still brings the kill switch, with nowhere for DNS to go', () => {
    const used = withExitNodes(
      base,
      { self: { approvedRoutes: [] }, packetFilter: [] },
      { choice: { wanted: 'gone', families: new Set() }, allowLan: true, bypass: [] },
      () => undefined,
      MESH,
    );
    expect(used.exitNode).toMatchObject({ name: 'gone', resolvers: [], families: [] });
  });

  it("an approved exit route makes this node a gateway whose resolver only the exit node's users reach", () => {
    const map = {
      self: { approvedRoutes: ['0.0.0.0/0', '::/0'] },
      packetFilter: [internet, meshOnly],
      meshRanges: MESH,
    };
    const gw = withExitNodes(base, map, undefined, () => undefined, MESH);
    expect(gw.gateway).toBe(true);
    expect(gw.filter.at(-1)).toEqual({
      srcIPs: ['100.64.0.3'],
      dstPorts: [
        { ip: '100.64.0.9', ports: { first: 53, last: 53 } },
        { ip: 'fd7a:115c:a1e0::9', ports: { first: 53, last: 53 } },
      ],
      ipProto: [6, 17],
    });
  });

  it('no rule reaches the resolver when nobody may go through this node, nor for traffic to its subnet routes', () => {
    const self = { addresses: ['100.64.0.9'], approvedRoutes: ['10.1.0.0/16', '0.0.0.0/0'] };
    const subnet: FilterRule = { ...internet, dstPorts: [{ ip: '10.1.2.0/24', ports: { first: 0, last: 65535 } }] };
    expect(exitDnsRule([meshOnly, subnet], self, MESH)).toBeUndefined();
    expect(
      exitDnsRule([{ ...meshOnly, dstPorts: [{ ip: '*', ports: { first: 0, last: 65535 } }] }], self, MESH)?.srcIPs,
    ).toEqual(['100.64.0.4']);
  });
});

describe('advertising an exit node', () => {
  it('adds or drops 0.0.0.0/0 and ::/0 next to the subnet routes, and keeps what was before when not asked', () => {
    expect(advertisedWithExit({ advertiseExitNode: true }, ['10.1.0.0/16'])).toEqual([
      '10.1.0.0/16',
      '0.0.0.0/0',
      '::/0',
    ]);
    expect(advertisedWithExit({}, ['10.1.0.0/16', '0.0.0.0/0', '::/0'])).toEqual(['10.1.0.0/16', '0.0.0.0/0', '::/0']);
    expect(
      advertisedWithExit({ advertiseRoutes: ['10.2.0.0/16'], advertiseExitNode: false }, ['0.0.0.0/0', '::/0']),
    ).toEqual(['10.2.0.0/16']);
  });
});
