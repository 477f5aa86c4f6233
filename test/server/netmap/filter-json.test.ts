import { describe, expect, it } from 'vitest';
import { FilterRule } from '../../../protocol/filter.ts';
import {
  expandTemplate,
  parsePolicy,
  PolicyNetwork,
  type FilterTemplate,
  type PolicyNode,
} from '../../../policy/index.ts';
import { SharedFilter, SharedFilters } from '../../../server/netmap/filter-json.ts';

const write = (template: FilterTemplate, own: readonly string[]) =>
  new SharedFilter(template, JSON.stringify(template)).json(own);

describe('SharedFilter', () => {
  const sources = ['100.64.0.1', 'fd7a:115c:a1e0::1'];
  const protos = [6, 17, 1, 58];
  const template: FilterTemplate = [
    {
      srcIPs: sources,
      dsts: [
        {
          ips: null,
          ports: [
            { first: 80, last: 80 },
            { first: 8000, last: 9000 },
          ],
        },
      ],
      ipProto: protos,
    },
    {
      srcIPs: ['*'],
      dsts: [
        { ips: ['*'], ports: [{ first: 0, last: 65535 }] },
        { ips: null, ports: [{ first: 22, last: 22 }] },
        { ips: ['10.1.0.0/16', '10.2.0.0/16'], ports: [{ first: 53, last: 53 }] },
      ],
      ipProto: [17],
    },
    {
      srcIPs: sources,
      dsts: [
        { ips: null, ports: [{ first: 443, last: 443 }] },
        { ips: ['10.9.0.0/16'], ports: [{ first: 443, last: 443 }] },
      ],
      ipProto: [6],
      app: { 'example.com/cap/k8s': [{ verbs: ['get'] }] },
    },
    {
      srcIPs: sources,
      dsts: [{ ips: null, ports: [{ first: 5432, last: 5432 }] }],
      ipProto: [6],
      app: { 'example.com/cap/db': ['"quoted"'] },
    },
  ];

  it('writes exactly the JSON of the expanded filter, for any own addresses, as valid wire rules', () => {
    for (const own of [['100.64.0.9', 'fd7a:115c:a1e0::9'], ['100.64.0.9'], []]) {
      const json = write(template, own);
      expect(json).toBe(JSON.stringify(expandTemplate(template, own)));
      for (const r of JSON.parse(json)) expect(FilterRule.safeParse(r).success).toBe(true);
    }
  });

  it('fills each node its own destinations while the sources stay shared', () => {
    const a = JSON.parse(write(template, ['100.64.0.9']));
    const b = JSON.parse(write(template, ['100.64.0.10']));
    expect(a[0].dstPorts.map((d: { ip: string }) => d.ip)).toEqual(['100.64.0.9', '100.64.0.9']);
    expect(b[0].dstPorts.map((d: { ip: string }) => d.ip)).toEqual(['100.64.0.10', '100.64.0.10']);
    expect(b[0].srcIPs).toEqual(sources);
  });

  it('leaves out a rule whose only destinations are own addresses of a node that has none', () => {
    const rules = JSON.parse(write(template, []));
    expect(rules.map((r: { ipProto: number[] }) => r.ipProto)).toEqual([[17], [6]]);
    expect(rules[0].dstPorts.map((d: { ip: string }) => d.ip)).toEqual(['*', '10.1.0.0/16', '10.2.0.0/16']);
    expect(rules[1].capGrant[0].dsts).toEqual(['10.9.0.0/16']);
  });

  it('writes an empty filter as an empty list', () => {
    expect(write([], ['100.64.0.1'])).toBe('[]');
  });

  it('writes every node of a compiled network exactly as its filter', () => {
    const text = `{
      "groups": {"group:eng": ["alice@example.com", "bob@example.com"]},
      "tagOwners": {"tag:web": ["group:eng"], "tag:db": ["group:eng"], "tag:exit": ["group:eng"]},
      "hosts": {"office": "10.1.0.0/16"},
      "autoApprovers": {"exitNode": ["tag:exit"]},
      "acls": [
        {"action": "accept", "src": ["group:eng"], "dst": ["tag:web:443,8000-8100", "tag:db:5432", "office:22"]},
        {"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"]},
        {"action": "accept", "src": ["tag:web"], "dst": ["autogroup:internet:443", "*:53"]},
      ],
      "grants": [{"src": ["group:eng"], "dst": ["tag:db"], "ip": ["tcp:5432"], "app": {"example.com/cap/db": [{"role": "ro"}]}}],
    }`;
    const parsed = parsePolicy(text, 'test.hujson');
    expect(parsed.diagnostics).toEqual([]);
    const net = new PolicyNetwork(parsed.policy!);
    const nodes: PolicyNode[] = [
      ['a1', { user: 'alice@example.com', tags: [] }],
      ['a2', { user: 'alice@example.com', tags: [] }],
      ['b1', { user: 'bob@example.com', tags: [] }],
      ['w1', { tags: ['tag:web'] }],
      ['w2', { tags: ['tag:web'] }],
      ['d1', { tags: ['tag:db'] }],
      ['x1', { tags: ['tag:exit'], routableIPs: ['0.0.0.0/0', '::/0'] }],
    ].map(([id, f], i) => ({
      id: id as string,
      name: id as string,
      ipv4: `100.64.0.${i + 1}`,
      ipv6: i % 2 ? '' : `fd7a:115c:a1e0::${i + 1}`,
      routableIPs: [],
      approvedRoutes: [],
      ...(f as object),
      tags: (f as { tags: string[] }).tags,
    }));
    net.loadNodes(nodes);
    const filters = new SharedFilters();
    let written = 0;
    for (const n of nodes) {
      const { template: t, own } = net.filterTemplateOf(n.id);
      expect(filters.of(t).json(own), n.id).toBe(JSON.stringify(net.filterOf(n.id)));
      written += net.filterOf(n.id).length;
    }
    expect(written).toBeGreaterThan(nodes.length);
    // Nodes with the same keys share one template and one writer.
    expect(filters.of(net.filterTemplateOf('w1').template)).toBe(filters.of(net.filterTemplateOf('w2').template));
  });
});

describe('SharedFilters', () => {
  const rule = (port: number) => ({
    srcIPs: ['100.64.0.1'],
    dsts: [{ ips: null, ports: [{ first: port, last: port }] }],
    ipProto: [6],
  });

  it('gives templates with equal content one filter, and different content another', () => {
    const filters = new SharedFilters();
    const a = filters.of([rule(22)]);
    expect(filters.of([rule(22)])).toBe(a);
    expect(filters.of([rule(23)])).not.toBe(a);
    expect(filters.of([{ ...rule(22), dsts: [{ ips: ['100.64.0.2'], ports: [{ first: 22, last: 22 }] }] }])).not.toBe(
      a,
    );
  });
});
