import { describe, expect, it } from 'vitest';
import { parseAddress, type Address } from '../../../protocol/ip/address.ts';
import type { Peer } from '../../../protocol/node.ts';
import { prefixOrThrow } from '../../../client/netconf/prefix.ts';
import { acceptRoutes } from '../../../client/routes/accepted-routes.ts';
import { routeRefusal, type LocalNetwork } from '../../../client/routes/route-safety.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';

const addr = (t: string): Address => {
  const a = parseAddress(t);
  if (!a.ok) throw new Error(t);
  return a.value;
};
/** A laptop on 192.168.1.0/24 behind 192.168.1.1, its server at 203.0.113.10. */
const LOCAL: LocalNetwork = {
  connected: [
    { prefix: prefixOrThrow('192.168.1.0/24'), dev: 'eth0' },
    { prefix: prefixOrThrow('fd00:1::/64'), dev: 'eth0' },
  ],
  gateways: [addr('192.168.1.1')],
  servers: [addr('203.0.113.10')],
};
const refusal = (route: string, local = LOCAL) => routeRefusal(prefixOrThrow(route), local)?.code;

describe('routes that would cut this machine off', () => {
  it('refuses a route inside or equal to a LAN network, not a wider one (the LAN keeps its more specific route)', () => {
    expect(refusal('192.168.1.0/24')).toBe('routes.captures_lan');
    expect(refusal('192.168.1.128/25')).toBe('routes.captures_lan');
    expect(refusal('fd00:1::/64')).toBe('routes.captures_lan');
    expect(refusal('192.168.0.0/16')).toBeUndefined();
    expect(refusal('10.1.0.0/24')).toBeUndefined();
    expect(routeRefusal(prefixOrThrow('192.168.1.128/25'), LOCAL)?.message).toBe(
      "not routing 192.168.1.128/25: it would take part of this machine's LAN 192.168.1.0/24 (eth0) into the tunnel",
    );
  });

  it('refuses a route holding a default gateway reached by no more specific route', () => {
    const onlink: LocalNetwork = { ...LOCAL, connected: [], gateways: [addr('10.0.0.1')] }; // a cloud VM's /32
    expect(refusal('10.0.0.0/8', onlink)).toBe('routes.captures_default_route');
    expect(refusal('10.1.0.0/16', onlink)).toBeUndefined();
  });

  it("refuses a route holding the server's address", () => {
    expect(refusal('203.0.113.0/24')).toBe('routes.captures_server');
    expect(routeRefusal(prefixOrThrow('203.0.113.0/24'), LOCAL)?.message).toContain(
      "it holds the control server's address 203.0.113.10",
    );
  });
});

const peer = (name: string, n: number, primaryRoutes: string[] | undefined, extra: string[] = []): Peer => ({
  id: name,
  name,
  wireguardKey: generateKeyPair().publicKey,
  addresses: [`100.64.0.${n}/32`],
  allowedIPs: [`100.64.0.${n}/32`, ...(primaryRoutes ?? []), ...extra],
  ...(primaryRoutes && { primaryRoutes }),
  endpoints: [],
  tags: [],
  online: true,
});

describe('which offered routes this machine takes', () => {
  const r1 = peer('r1', 2, ['10.1.0.0/24', '192.168.1.0/25']);

  it('takes none without --accept-routes, and lists them as offered, not accepted', () => {
    const a = acceptRoutes([r1], { acceptRoutes: false, force: [] }, LOCAL);
    expect(a.peers[0]!.allowedIPs).toEqual(['100.64.0.2/32']);
    expect(a.offered.map((o) => [o.prefix, o.via, o.state])).toEqual([
      ['10.1.0.0/24', 'r1', 'not-accepted'],
      ['192.168.1.0/25', 'r1', 'not-accepted'],
    ]);
  });

  it('takes the safe ones with --accept-routes and refuses the rest with the reason', () => {
    const a = acceptRoutes([r1], { acceptRoutes: true, force: [] }, LOCAL);
    expect(a.peers[0]!.allowedIPs).toEqual(['100.64.0.2/32', '10.1.0.0/24']);
    expect(a.offered[1]).toMatchObject({
      prefix: '192.168.1.0/25',
      state: 'refused',
      refusal: { code: 'routes.captures_lan' },
    });
    expect(a.refusals.map((r) => r.code)).toEqual(['routes.captures_lan']);
  });

  it('takes a refused route that is forced, and says it was forced', () => {
    const a = acceptRoutes([r1], { acceptRoutes: true, force: ['192.168.1.0/25'] }, LOCAL);
    expect(a.peers[0]!.allowedIPs).toContain('192.168.1.0/25');
    expect(a.offered[1]).toMatchObject({ state: 'accepted', forced: true, refusal: { code: 'routes.captures_lan' } });
    expect(a.refusals).toEqual([]);
  });

  it("leaves exit routes to the exit-node logic, and reads an older server's allowed IPs as the offer", () => {
    const old = peer('r2', 3, undefined, ['10.2.0.0/24']);
    const a = acceptRoutes([old], { acceptRoutes: true, force: [] }, LOCAL);
    expect(a.offered.map((o) => o.prefix)).toEqual(['10.2.0.0/24']);
    const exit = { ...peer('x', 4, []), allowedIPs: ['100.64.0.4/32', '0.0.0.0/0'] };
    expect(acceptRoutes([exit], { acceptRoutes: false, force: [] }, LOCAL).peers[0]!.allowedIPs).toContain('0.0.0.0/0');
  });
});
