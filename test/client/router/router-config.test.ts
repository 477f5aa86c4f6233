import { describe, expect, it } from 'vitest';
import { formatPrefix } from '../../../protocol/ip/prefix.ts';
import type { SelfNode } from '../../../protocol/node.ts';
import { routerConfig } from '../../../client/router/router-config.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';

const self = (advertised: string[], approved: string[]): SelfNode => ({
  id: 'r',
  name: 'r',
  wireguardKey: generateKeyPair().publicKey,
  addresses: ['100.64.0.5/32', 'fd7a:115c:a1e0::5/128'],
  allowedIPs: [],
  endpoints: [],
  tags: [],
  online: true,
  machineKey: 'm',
  ipv4: '100.64.0.5',
  ipv6: 'fd7a:115c:a1e0::5',
  ephemeral: false,
  advertisedRoutes: advertised,
  approvedRoutes: approved,
});
const defaults = { snatSubnetRoutes: true, gatewayFor: [] };

describe('what a node forwards', () => {
  it('routes the advertised subnets once approved, and nothing before', () => {
    expect(routerConfig(self(['10.1.0.0/24'], []), defaults)).toBeUndefined();
    const c = routerConfig(self(['10.1.0.0/24', '10.2.0.0/24'], ['10.1.0.0/24']), defaults)!;
    expect(c.routes.map(formatPrefix)).toEqual(['10.1.0.0/24']);
    expect(c).toMatchObject({ snat: true, exitNode: false, addresses: { ipv4: '100.64.0.5' } });
  });

  it('does not forward a route the server approved but this node no longer advertises', () => {
    expect(routerConfig(self([], ['10.1.0.0/24']), defaults)).toBeUndefined();
  });

  it('leaves exit routes out of the subnets and says the node is an exit node', () => {
    const c = routerConfig(self(['10.1.0.0/24', '0.0.0.0/0', '::/0'], ['10.1.0.0/24', '0.0.0.0/0', '::/0']), defaults)!;
    expect(c.routes.map(formatPrefix)).toEqual(['10.1.0.0/24']);
    expect(c.exitNode).toBe(true);
  });

  it('is a gateway for its --gateway-for sources even with no route, with SNAT as set', () => {
    const c = routerConfig(self([], []), { snatSubnetRoutes: false, gatewayFor: ['10.9.0.0/24'] })!;
    expect(c.gatewaySources.map(formatPrefix)).toEqual(['10.9.0.0/24']);
    expect(c.snat).toBe(false);
  });
});
