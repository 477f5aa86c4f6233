/** Grants with `via`: destinations reached only through the routers with the named tags. */
import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicyNetwork, type PolicyNode } from '../../policy/index.ts';
import { compileTopology } from '../../policy/tailscale-format.ts';

const HEAD = `"tagOwners": { "tag:eu": ["admin@example.com"], "tag:us": ["admin@example.com"], "tag:exit": ["admin@example.com"] }`;
const policyOf = (grants: string) => {
  const r = parsePolicy(`{${HEAD}, "grants": ${grants}}`, 'test.hujson');
  if (!r.policy) throw new Error(JSON.stringify(r.diagnostics));
  return r.policy;
};
const codes = (grants: string) =>
  parsePolicy(`{${HEAD}, "grants": ${grants}}`, 'test.hujson').diagnostics.map((d) => d.code);

const node = (name: string, i: number, extra: Partial<PolicyNode>): PolicyNode => ({
  id: name,
  name,
  tags: [],
  ipv4: `100.64.0.${i}`,
  ipv6: `fd7a:115c:a1e0::${i}`,
  routableIPs: [],
  approvedRoutes: [],
  ...extra,
});
const alice = node('alice', 1, { user: 'alice@example.com' });
const bob = node('bob', 2, { user: 'bob@example.com' });
const eu = node('eu', 3, { tags: ['tag:eu'], routableIPs: ['10.5.0.0/16'], approvedRoutes: ['10.5.0.0/16'] });
const us = node('us', 4, { tags: ['tag:us'], routableIPs: ['10.5.0.0/16'], approvedRoutes: ['10.5.0.0/16'] });
const exit = node('exit', 5, {
  tags: ['tag:exit'],
  routableIPs: ['0.0.0.0/0', '::/0'],
  approvedRoutes: ['0.0.0.0/0', '::/0'],
});

const STEERED = `[
  { "src": ["alice@example.com"], "dst": ["10.5.0.0/16"], "ip": ["*"], "via": ["tag:eu"] },
  { "src": ["bob@example.com"], "dst": ["10.5.0.0/24"], "ip": ["tcp:22"], "via": ["tag:us"] },
  { "src": ["bob@example.com"], "dst": ["autogroup:internet"], "ip": ["*"], "via": ["tag:exit"] },
]`;

describe('grants with via', () => {
  it('are accepted with tags, and refused naming anything else or a destination no router carries', () => {
    expect(codes(STEERED)).toEqual([]);
    expect(codes(`[{ "src": ["*"], "dst": ["10.5.0.0/16"], "ip": ["*"], "via": ["alice@example.com"] }]`)).toEqual([
      'policy.invalid_via',
    ]);
    expect(codes(`[{ "src": ["*"], "dst": ["10.5.0.0/16"], "ip": ["*"], "via": ["tag:nobody"] }]`)).toEqual([
      'policy.unknown_tag',
    ]);
    expect(codes(`[{ "src": ["*"], "dst": ["tag:eu"], "ip": ["*"], "via": ["tag:eu"] }]`)).toEqual([
      'policy.via_destination',
    ]);
    // An empty via is no via (as Tailscale reads it).
    expect(codes(`[{ "src": ["*"], "dst": ["tag:eu"], "ip": ["*"], "via": [] }]`)).toEqual([]);
  });

  it('put the rule only on the routers with the tag, and make only them peers of the sources', () => {
    const net = new PolicyNetwork(policyOf(STEERED));
    net.loadNodes([alice, bob, eu, us, exit]);
    expect(net.peersOf('alice')).toEqual(['eu']);
    expect(net.peersOf('bob')).toEqual(['exit', 'us']);
    const sources = (id: string) => net.filterOf(id).flatMap((r) => r.srcIPs);
    expect(sources('eu')).toContain('100.64.0.1');
    expect(sources('eu')).not.toContain('100.64.0.2');
    expect(sources('us')).toEqual(expect.arrayContaining(['100.64.0.2']));
    expect(net.filterOf('us').flatMap((r) => r.dstPorts.map((d) => d.ip))).toEqual(['10.5.0.0/24']);
    expect(net.mayUseExitNode('bob', 'exit')).toBe(true);
    expect(net.mayUseExitNode('alice', 'exit')).toBe(false);
    expect(net.viaOf('bob')).toEqual([{ prefix: '10.5.0.0/24', tags: ['tag:us'] }]);
  });

  it('compile, as Tailscale sends them, into allowed IPs and primary routes through the via router', () => {
    const { nodes } = compileTopology(policyOf(STEERED), [alice, bob, eu, us, exit]);
    expect(nodes['alice']!.routes).toEqual([
      {
        name: 'eu',
        allowedIPs: ['10.5.0.0/16', '100.64.0.3/32', 'fd7a:115c:a1e0::3/128'],
        primaryRoutes: ['10.5.0.0/16'],
      },
    ]);
    expect(nodes['bob']!.routes).toEqual([
      {
        name: 'exit',
        allowedIPs: ['0.0.0.0/0', '100.64.0.5/32', '::/0', 'fd7a:115c:a1e0::5/128'],
        primaryRoutes: [],
      },
      {
        name: 'us',
        allowedIPs: ['10.5.0.0/16', '100.64.0.4/32', 'fd7a:115c:a1e0::4/128'],
        primaryRoutes: ['10.5.0.0/16'],
      },
    ]);
  });
});
