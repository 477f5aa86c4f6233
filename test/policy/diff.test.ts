/** diffAccess lists who gains and who loses access to what, for a policy change under review. */
import { describe, expect, it } from 'vitest';
import {
  diffAccess,
  diffAccessUpTo,
  diffNetworksUpTo,
  parsePolicy,
  PolicyNetwork,
  type PolicyNode,
} from '../../policy/index.ts';
import { CHANGES, changePolicy } from '../bench/policy/policy-changes.ts';
import { nodeAt, synthesize } from '../bench/policy/synthetic.ts';
import { naiveDiffAccess } from './support/naive-diff.ts';

const text = (acls: string) => `{
  "groups": {"group:eng": ["alice@example.com"]},
  "tagOwners": {"tag:web": [], "tag:db": []},
  "acls": [${acls}],
}`;
const p = (acls: string) => parsePolicy(text(acls)).policy!;
const n = (id: string, i: number, f: Partial<PolicyNode>): PolicyNode => ({
  id,
  name: `${id}-node`,
  tags: [],
  ipv4: `100.64.0.${i}`,
  ipv6: `fd7a:115c:a1e0::${i}`,
  routableIPs: [],
  approvedRoutes: [],
  ...f,
});
const nodes = [
  n('alice', 1, { user: 'alice@example.com' }),
  n('web', 2, { tags: ['tag:web'] }),
  n('db', 3, { tags: ['tag:db'] }),
];

describe('diffAccess', () => {
  it('reports narrowed ports as revoked and widened ones as granted, by node name', () => {
    const before = p('{"action": "accept", "src": ["group:eng"], "proto": "tcp", "dst": ["tag:web:80,443"]}');
    const after = p('{"action": "accept", "src": ["group:eng"], "proto": "tcp", "dst": ["tag:web:443-444"]}');
    expect(diffAccess(before, after, nodes)).toEqual({
      granted: [{ src: 'alice-node', dst: 'web-node', protos: 'tcp', ports: '444' }],
      revoked: [{ src: 'alice-node', dst: 'web-node', protos: 'tcp', ports: '80' }],
    });
  });

  it('follows identity: moving a rule from one tag to another', () => {
    const before = p('{"action": "accept", "src": ["tag:web"], "proto": "udp", "dst": ["tag:db:53"]}');
    const after = p('{"action": "accept", "src": ["tag:db"], "proto": "udp", "dst": ["tag:web:53"]}');
    expect(diffAccess(before, after, nodes)).toEqual({
      granted: [{ src: 'db-node', dst: 'web-node', protos: 'udp', ports: '53' }],
      revoked: [{ src: 'web-node', dst: 'db-node', protos: 'udp', ports: '53' }],
    });
  });

  it('is empty when a change does not change access', () => {
    const before = p('{"action": "accept", "src": ["group:eng"], "dst": ["tag:web:443"]}');
    const after = p('{"action": "accept", "src": ["alice@example.com"], "dst": ["tag:web:443"]}');
    expect(diffAccess(before, after, nodes)).toEqual({ granted: [], revoked: [] });
  });
});

describe('diffAccessUpTo', () => {
  // Every web node loses port 80 from alice: one change per web node.
  const many = [nodes[0]!, ...Array.from({ length: 30 }, (_, i) => n(`web${i}`, 10 + i, { tags: ['tag:web'] }))];
  const before = p('{"action": "accept", "src": ["group:eng"], "proto": "tcp", "dst": ["tag:web:80,443"]}');
  const after = p('{"action": "accept", "src": ["group:eng"], "proto": "tcp", "dst": ["tag:web:443"]}');

  it('stops once it has found the limit, and says the diff is not the whole of it', () => {
    const { diff, complete } = diffAccessUpTo(before, after, many, 5);
    expect(complete).toBe(false);
    expect(diff.revoked.length).toBeGreaterThanOrEqual(5);
    expect(diff.revoked.length).toBeLessThan(30);
    expect(diff.granted).toEqual([]);
  });

  it('is the whole diff, marked complete, when there are fewer changes than the limit', () => {
    expect(diffAccessUpTo(before, after, many, 31)).toEqual({ diff: diffAccess(before, after, many), complete: true });
  });
});

describe('diffAccess by source class', () => {
  // The reference judges every destination's rules against every peer, one pair at a time.
  const shape = { nodes: 160, namedSets: 24, rules: 60, taggedShare: 0.3, devicesPerUser: 2, groupsPerUser: 2 };
  const synth = synthesize(shape, 5);
  // Nodes the classes must not merge with others: one address only, none that parses, none at all.
  const odd: PolicyNode[] = [
    { ...nodeAt(9001, { user: synth.users[0]!, tags: [] }), ipv6: '' },
    { ...nodeAt(9002, { tags: [synth.tags[0]!] }), ipv4: '' },
    { ...nodeAt(9003, { tags: [synth.tags[1]!] }), ipv4: 'not-an-address' },
    { ...nodeAt(9004, { tags: [synth.tags[2]!] }), ipv4: '', ipv6: '' },
  ];
  const all = [...synth.nodes, ...odd];
  const before = parsePolicy(synth.policyText, 'before.hujson').policy!;

  for (const change of CHANGES) {
    it(`equals the pair-by-pair diff on a synthetic network: ${change}`, () => {
      const after = parsePolicy(changePolicy(synth.policyText, change, 12, synth.groups), 'after.hujson').policy!;
      const diff = diffAccess(before, after, all);
      expect(diff.granted.length + diff.revoked.length).toBeGreaterThan(0);
      expect(diff).toEqual(naiveDiffAccess(before, after, all));
      expect(diffAccess(after, before, all)).toEqual(naiveDiffAccess(after, before, all));
    });

    it(`bounded, judges destinations in batches and each one whole, exactly as the full diff does: ${change}`, () => {
      const after = parsePolicy(changePolicy(synth.policyText, change, 12, synth.groups), 'after.hujson').policy!;
      const full = diffAccess(before, after, all);
      const total = full.granted.length + full.revoked.length;
      // Room for every change: several batches, and the same diff as one.
      expect(diffAccessUpTo(before, after, all, total + 1)).toEqual({ diff: full, complete: true });

      const { diff, complete } = diffAccessUpTo(before, after, all, 3);
      const found = diff.granted.length + diff.revoked.length;
      expect(found).toBeGreaterThanOrEqual(Math.min(3, total));
      if (found < total) expect(complete).toBe(false);
      const judged = new Set([...diff.granted, ...diff.revoked].map((c) => c.dst));
      const only = (changes: typeof full.granted) => changes.filter((c) => judged.has(c.dst));
      expect(diff).toEqual({ granted: only(full.granted), revoked: only(full.revoked) });
    });
  }
});

describe('diffNetworksUpTo over a live network', () => {
  // What the server diffs: its own network, changed node by node since it loaded, under the
  // old and the new policy, sharing its index instead of indexing every node again.
  const synth = synthesize(
    { nodes: 120, namedSets: 16, rules: 40, taggedShare: 0.3, devicesPerUser: 2, groupsPerUser: 2 },
    7,
  );
  const before = parsePolicy(synth.policyText, 'before.hujson').policy!;

  for (const change of CHANGES) {
    it(`equals the diff of the same nodes from scratch: ${change}`, () => {
      const after = parsePolicy(changePolicy(synth.policyText, change, 12, synth.groups), 'after.hujson').policy!;
      const live = new PolicyNetwork(after);
      live.loadNodes(synth.nodes.slice(0, 100));
      for (const node of synth.nodes.slice(100)) live.upsertNode(node);
      for (const node of synth.nodes.slice(0, 10)) live.removeNode(node.id);
      for (const node of synth.nodes.slice(10, 20)) live.upsertNode({ ...node, tags: [synth.tags[0]!] });
      for (const node of synth.nodes) live.peersOf(node.id);

      const diff = diffNetworksUpTo(live.withPolicy(before), live.withPolicy(after), Infinity);
      expect(diff).toEqual({ diff: diffAccess(before, after, live.nodes()), complete: true });
      expect(diff.diff.granted.length + diff.diff.revoked.length).toBeGreaterThan(0);
    });
  }
});
