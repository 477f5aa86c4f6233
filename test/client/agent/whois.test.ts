import { describe, expect, it } from 'vitest';
import { whois } from '../../../client/agent/whois.ts';
import type { FilterRule } from '../../../protocol/filter.ts';
import type { Peer, SelfNode } from '../../../protocol/node.ts';

const K = 'A'.repeat(43) + '=';
const node = (id: string, n: number, extra: Partial<Peer> = {}): Peer => ({
  id,
  name: id,
  wireguardKey: K,
  addresses: [`100.64.0.${n}/32`, `fd7a:115c:a1e0::${n}/128`],
  allowedIPs: [`100.64.0.${n}/32`, `fd7a:115c:a1e0::${n}/128`],
  endpoints: [],
  tags: [],
  online: true,
  ...extra,
});
const self: SelfNode = {
  ...node('me', 1, { user: 'me@example.com' }),
  machineKey: K,
  ipv4: '100.64.0.1',
  ipv6: 'fd7a:115c:a1e0::1',
  ephemeral: false,
  advertisedRoutes: [],
  approvedRoutes: [],
};
const web = node('web', 2, { tags: ['tag:web'] });
const router = node('router', 3, { allowedIPs: ['100.64.0.3/32', '10.20.0.0/16'], user: 'ops@example.com' });
const inner = node('inner', 4, { allowedIPs: ['100.64.0.4/32', '10.20.30.0/24'] });

describe('whois: which node owns a mesh IP', () => {
  it('names the peer whose address it is, with its tags (a tagged node has no user)', () => {
    expect(whois('100.64.0.2', self, [web]).node).toEqual({
      id: 'web',
      name: 'web',
      self: false,
      addresses: web.addresses,
      tags: ['tag:web'],
      matched: '100.64.0.2/32',
    });
  });

  it('knows this node itself, over IPv6 too, and its user', () => {
    expect(whois('fd7a:115c:a1e0::1', self, [web]).node).toMatchObject({
      name: 'me',
      self: true,
      user: 'me@example.com',
    });
  });

  it('finds the node routing a subnet, the most specific route winning', () => {
    expect(whois('10.20.1.1', self, [router, inner]).node).toMatchObject({ name: 'router', matched: '10.20.0.0/16' });
    expect(whois('10.20.30.7', self, [router, inner]).node).toMatchObject({ name: 'inner', matched: '10.20.30.0/24' });
  });

  it('says so when no node owns the address, and refuses what is not one address', () => {
    expect(() => whois('100.64.0.99', self, [web])).toThrow(
      expect.objectContaining({ code: 'agent.not_found', message: "no node in this node's map owns 100.64.0.99" }),
    );
    expect(() => whois('100.64.0.0/10', self, [web])).toThrow(expect.objectContaining({ code: 'agent.bad_request' }));
    expect(() => whois('web', self, [web])).toThrow(
      expect.objectContaining({ code: 'agent.bad_request', message: '"web" is not an IP address' }),
    );
  });
});

describe('whois: the capabilities a peer holds towards this node', () => {
  const kube = { 'trellis.dev/cap/kubernetes': [{ impersonate: { groups: ['sre'] } }] };
  const grant = (srcIPs: string[], dsts: string[], capMap: Record<string, unknown[]>): FilterRule => ({
    srcIPs,
    dstPorts: [],
    ipProto: [6, 17, 1, 58],
    capGrant: [{ dsts, capMap }],
  });
  const filter: FilterRule[] = [
    grant(['100.64.0.2', 'fd7a:115c:a1e0::2'], ['100.64.0.1/32', 'fd7a:115c:a1e0::1/128'], kube),
    grant(['100.64.0.0/10'], ['100.64.0.1/32'], {
      'trellis.dev/cap/kubernetes': [{ impersonate: { groups: ['viewers'] } }],
      'example.com/cap/x': [1],
    }),
    // Towards another address (a route this node serves): not towards this node itself.
    grant(['100.64.0.2'], ['10.20.0.0/16'], { 'example.com/cap/route': [true] }),
    // Packets only: no capabilities.
    { srcIPs: ['*'], dstPorts: [{ ip: '*', ports: { first: 0, last: 65535 } }], ipProto: [6] },
  ];

  it('collects every grant whose sources hold the peer, appending the values of each capability', () => {
    expect(whois('100.64.0.2', self, [web], filter).capMap).toEqual({
      'trellis.dev/cap/kubernetes': [{ impersonate: { groups: ['sre'] } }, { impersonate: { groups: ['viewers'] } }],
      'example.com/cap/x': [1],
    });
  });

  it('matches an IPv6 peer against this node’s IPv6 address', () => {
    expect(whois('fd7a:115c:a1e0::2', self, [web], filter).capMap).toEqual(kube);
  });

  it('gives none to a peer no grant names, and none without a filter', () => {
    expect(whois('fd7a:115c:a1e0::3', self, [web, router], filter).capMap).toEqual({});
    expect(whois('100.64.0.2', self, [web]).capMap).toEqual({});
  });
});
