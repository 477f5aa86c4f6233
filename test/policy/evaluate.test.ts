/**
 * evaluate/explain answer "may A reach B on this port?" from the compiled filters, so they can
 * never disagree with what nodes enforce.
 */
import { describe, expect, it } from 'vitest';
import { FilterRule } from '../../protocol/filter.ts';
import {
  evaluate,
  explain,
  parsePolicy,
  PolicyNetwork,
  PolicyQueryError,
  type PolicyNode,
} from '../../policy/index.ts';

const policy = parsePolicy(
  `{
  "groups": {"group:eng": ["alice@example.com"]},
  "tagOwners": {"tag:web": [], "tag:db": []},
  "acls": [
    {"action": "accept", "src": ["group:eng"], "dst": ["tag:web:443"]},
    {"action": "accept", "src": ["tag:web"], "proto": "tcp", "dst": ["tag:db:5432"]},
  ],
  "grants": [{"src": ["group:eng"], "dst": ["tag:web"], "ip": ["tcp:22"]}],
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
const net = new PolicyNetwork(policy);
net.loadNodes([
  n('alice', 1, { user: 'alice@example.com' }),
  n('web', 2, { tags: ['tag:web'] }),
  n('db', 3, { tags: ['tag:db'] }),
]);

describe('evaluate', () => {
  it('refuses a question naming a node or protocol the network does not have with a PolicyQueryError, never a TypeError', () => {
    const refusal = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return err;
      }
      throw new Error('expected the question to be refused');
    };
    for (const [q, code, text] of [
      [{ src: 'nobody', dst: 'web', port: 443 }, 'policy.unknown_node', 'unknown source node "nobody"'],
      [{ src: 'alice', dst: 'nowhere', port: 443 }, 'policy.unknown_node', 'unknown destination node "nowhere"'],
      [{ src: 'alice', dst: 'web', port: 443, proto: 'carrier-pigeon' }, 'policy.invalid_proto', 'carrier-pigeon'],
    ] as const) {
      const err = refusal(() => explain(net, q));
      expect(err).toBeInstanceOf(PolicyQueryError);
      expect(err).not.toBeInstanceOf(TypeError);
      expect((err as PolicyQueryError).code).toBe(code);
      expect((err as PolicyQueryError).message).toContain(text);
    }
  });

  it('accepts through every rule that allows the connection, acl or grant', () => {
    expect(evaluate(net, { src: 'alice', dst: 'web', port: 443 })).toMatchObject({
      verdict: 'accept',
      allowedBy: [{ origin: 'acl', at: { line: 5, column: 5 } }],
    });
    expect(evaluate(net, { src: 'alice', dst: 'web', port: 22 }).allowedBy).toMatchObject([
      { origin: 'grant', at: { line: 8 } },
    ]);
  });

  it('denies and says which rule reaches the destination on other ports or protocols', () => {
    const r = evaluate(net, { src: 'web', dst: 'db', port: 5432, proto: 'udp' });
    expect(r.verdict).toBe('deny');
    expect(r.reasons).toEqual(['p.hujson:6:5: tag:web -> tag:db:5432 lets web reach db:5432 only over tcp']);
  });

  it('denies and names the sources a rule would need', () => {
    expect(explain(net, { src: 'alice', dst: 'db', port: 5432 })).toBe(
      [
        'deny: alice -> db:5432/tcp: no rule allows it',
        '  p.hujson:6:5: tag:web -> tag:db:5432 reaches db:5432 but only from tag:web, and alice (user alice@example.com, in group:eng) is not one of them',
      ].join('\n'),
    );
  });

  it('says when nothing names the destination at all', () => {
    expect(evaluate(net, { src: 'db', dst: 'alice', port: 22 }).reasons).toEqual([
      'no rule has alice (user alice@example.com, in group:eng) among its destinations',
    ]);
  });

  it('agrees with the compiled filters, which are valid wire rules', () => {
    for (const id of ['alice', 'web', 'db'])
      for (const r of net.filterOf(id)) expect(FilterRule.safeParse(r).success).toBe(true);
    expect(net.filterOf('db')[0]?.srcIPs).toEqual(['100.64.0.2', 'fd7a:115c:a1e0::2']);
  });
});
