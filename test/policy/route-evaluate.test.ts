/**
 * evaluateRoute: "may A reach this address?" for an address behind a subnet router or out on
 * the internet through an exit node, answered by the carrying router's own compiled filter.
 */
import { describe, expect, it } from 'vitest';
import { evaluateRoute, explainRoute, parsePolicy, PolicyNetwork, type PolicyNode } from '../../policy/index.ts';

const policy = parsePolicy(
  `{
  "groups": {"group:eng": ["alice@example.com"]},
  "tagOwners": {"tag:router": [], "tag:exit": []},
  "acls": [
    {"action": "accept", "src": ["group:eng"], "dst": ["10.20.0.0/24:22"]},
    {"action": "accept", "src": ["group:eng"], "dst": ["10.20.0.128/25:443"]},
    {"action": "accept", "src": ["alice@example.com"], "dst": ["autogroup:internet:*"]},
  ],
}`,
  'p.hujson',
).policy!;

const n = (id: string, i: number, f: Partial<PolicyNode>): PolicyNode => ({
  id,
  name: id,
  tags: [],
  ipv4: `100.64.0.${i}`,
  ipv6: `fd7a:115c:a1e0::${i}`,
  routableIPs: [],
  approvedRoutes: [],
  ...f,
});
const routed = (prefix: string) => ({ routableIPs: [prefix], approvedRoutes: [prefix] });
const net = new PolicyNetwork(policy);
net.loadNodes([
  n('alice', 1, { user: 'alice@example.com' }),
  n('bob', 2, { user: 'bob@example.com' }),
  n('r1', 3, { tags: ['tag:router'], ...routed('10.20.0.0/24') }),
  n('r2', 4, { tags: ['tag:router'], ...routed('10.20.0.0/24') }),
  n('r3', 5, { tags: ['tag:router'], ...routed('10.20.0.128/25') }),
  n('exit', 6, { tags: ['tag:exit'], routableIPs: ['0.0.0.0/0', '::/0'], approvedRoutes: ['0.0.0.0/0', '::/0'] }),
]);

describe('evaluateRoute', () => {
  it('accepts through the primary router of the covering route, naming the rule', () => {
    const r = evaluateRoute(net, {
      src: 'alice',
      address: '10.20.0.5',
      port: 22,
      primaries: new Map([['10.20.0.0/24', 'r2']]),
    });
    expect(r).toMatchObject({ verdict: 'accept', via: { kind: 'subnet', router: 'r2', prefix: '10.20.0.0/24' } });
    expect(r.allowedBy.map((m) => m.at.line)).toEqual([5]);
    // Without the election's answer, the first router by name stands in.
    expect(evaluateRoute(net, { src: 'alice', address: '10.20.0.5', port: 22 }).via?.router).toBe('r1');
  });

  it('takes the longest covering prefix, as routing does; its router enforces every rule covering the address', () => {
    const r = evaluateRoute(net, { src: 'alice', address: '10.20.0.200', port: 22 });
    expect(r.via).toEqual({ kind: 'subnet', router: 'r3', prefix: '10.20.0.128/25' });
    // The /24 rule covers this address too, so r3 receives and applies it.
    expect(r.allowedBy.map((m) => m.at.line)).toEqual([5]);
    const closed = evaluateRoute(net, { src: 'alice', address: '10.20.0.200', port: 80 });
    expect(closed.verdict).toBe('deny');
    expect(closed.reasons).toEqual([
      expect.stringMatching(/^p\.hujson:5:\d+: .* lets alice reach 10\.20\.0\.200 via r3 only on ports 22$/),
      expect.stringMatching(/^p\.hujson:6:\d+: .* lets alice reach 10\.20\.0\.200 via r3 only on ports 443$/),
    ]);
  });

  it('denies a source no rule names, saying who may', () => {
    const r = evaluateRoute(net, { src: 'bob', address: '10.20.0.5', port: 22 });
    expect(r.verdict).toBe('deny');
    expect(r.reasons[0]).toMatch(/but only from group:eng, and bob \(user bob@example.com\) is not one of them/);
  });

  it('reaches an internet address through an exit node the source may use, and no further', () => {
    expect(evaluateRoute(net, { src: 'alice', address: '203.0.113.9', port: 443 })).toMatchObject({
      verdict: 'accept',
      via: { kind: 'exit', router: 'exit', prefix: '0.0.0.0/0' },
    });
    const bob = evaluateRoute(net, { src: 'bob', address: '203.0.113.9', port: 443 });
    expect(bob.verdict).toBe('deny');
    expect(bob.via).toBeUndefined();
    expect(bob.reasons[0]).toMatch(
      /exit nodes exit exist, but no rule with autogroup:internet has bob among its sources/,
    );
  });

  it("says so when the address is the mesh's own and no node holds it", () => {
    expect(evaluateRoute(net, { src: 'alice', address: '100.64.9.9', port: 22 }).reasons).toEqual([
      "100.64.9.9 is inside the mesh's range, and no node has it",
    ]);
  });

  it('prints the verdict, the router and the rule like policy eval does', () => {
    expect(explainRoute(net, { src: 'alice', address: '10.20.0.5', port: 22 })).toMatch(
      /^accept: alice -> 10\.20\.0\.5:22\/tcp via router r1 \(10\.20\.0\.0\/24\)\n {2}allowed by p\.hujson:5:\d+: group:eng -> 10\.20\.0\.0\/24:22$/,
    );
  });
});
