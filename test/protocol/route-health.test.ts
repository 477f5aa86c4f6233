import { describe, expect, it } from 'vitest';
import { ClientMessage } from '../../protocol/map.ts';
import { Peer } from '../../protocol/node.ts';
import { RouteHealthReport } from '../../protocol/route-health.ts';

describe('route health on the wire', () => {
  const report = {
    type: 'route-health',
    tunnel: 'up',
    routes: [
      { prefix: '10.1.0.0/16', healthy: true, probe: { kind: 'tcp', target: '10.1.0.5:22' } },
      {
        prefix: 'fd00:1::/64',
        healthy: false,
        probe: { kind: 'icmp', target: 'fd00:1::1' },
        error: 'timeout',
        failures: 3,
      },
      { prefix: '192.168.9.0/24', healthy: true },
    ],
  };

  it('is a message the agent may send on the map stream', () => {
    expect(ClientMessage.safeParse(report).success).toBe(true);
  });

  it.each([
    ['a prefix with host bits', { ...report, routes: [{ prefix: '10.1.0.1/16', healthy: true }] }],
    [
      'a probe kind it does not know',
      { ...report, routes: [{ prefix: '10.1.0.0/16', healthy: true, probe: { kind: 'udp', target: '10.1.0.5:53' } }] },
    ],
    ['a tunnel state it does not know', { ...report, tunnel: 'maybe' }],
    ['an unknown field', { ...report, extra: 1 }],
    [
      'more than 256 routes',
      { ...report, routes: Array.from({ length: 257 }, () => ({ prefix: '10.0.0.0/8', healthy: true })) },
    ],
    ['an overlong error', { ...report, routes: [{ prefix: '10.1.0.0/16', healthy: false, error: 'x'.repeat(257) }] }],
  ])('refuses %s', (_, bad) => {
    expect(RouteHealthReport.safeParse(bad).success).toBe(false);
  });

  it('keeps a peer from an older server readable: primaryRoutes and exitRoutes are optional', () => {
    const peer = {
      id: 'n1',
      name: 'router',
      wireguardKey: '167afg49CAgWTa34cDM4CMBUJmvQd4+2pXGxsjtchyI=',
      addresses: ['100.64.0.1/32'],
      allowedIPs: ['100.64.0.1/32'],
      endpoints: [],
      tags: [],
      online: true,
    };
    expect(Peer.safeParse(peer).success).toBe(true);
    expect(Peer.safeParse({ ...peer, primaryRoutes: ['10.0.0.0/8'], exitRoutes: ['0.0.0.0/0', '::/0'] }).success).toBe(
      true,
    );
  });
});
