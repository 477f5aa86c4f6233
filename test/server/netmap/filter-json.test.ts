import { describe, expect, it } from 'vitest';
import { FilterRule } from '../../../protocol/filter.ts';
import { filterJson } from '../../../server/netmap/filter-json.ts';

describe('filterJson', () => {
  const sources = ['100.64.0.1', 'fd7a:115c:a1e0::1'];
  const protos = [6, 17, 1, 58];
  const rules: FilterRule[] = [
    { srcIPs: sources, dstPorts: [{ ip: '100.64.0.9', ports: { first: 80, last: 80 } }], ipProto: protos },
    { srcIPs: ['*'], dstPorts: [], ipProto: protos, capGrant: [{ dsts: ['100.64.0.9'], capMap: { 'example.com/cap/k8s': [{ verbs: ['get'] }] } }] },
  ];

  it('writes exactly what JSON.stringify would mean, and valid wire rules', () => {
    const json = filterJson(rules);
    expect(JSON.parse(json)).toEqual(rules);
    for (const r of JSON.parse(json)) expect(FilterRule.safeParse(r).success).toBe(true);
  });

  it('gives each node its own destinations while sharing the source list', () => {
    const other: FilterRule[] = [{ srcIPs: sources, dstPorts: [{ ip: '100.64.0.10', ports: { first: 443, last: 443 } }], ipProto: protos }];
    expect(JSON.parse(filterJson(rules))[0].dstPorts[0].ip).toBe('100.64.0.9');
    expect(JSON.parse(filterJson(other))[0].dstPorts[0].ip).toBe('100.64.0.10');
    expect(JSON.parse(filterJson(other))[0].srcIPs).toEqual(sources);
  });

  it('writes an empty filter as an empty list', () => {
    expect(filterJson([])).toBe('[]');
  });
});
