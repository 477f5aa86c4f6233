/** readTopology: the topology document (files, the server's answer, conformance data) checked at the edge. */
import { describe, expect, it } from 'vitest';
import { readTopology, toTopology, type PolicyNode } from '../../policy/index.ts';

const web = { tags: ['tag:web'], ipv4: '10.1.0.2', ipv6: 'fd00::2', routableIPs: ['192.168.0.0/24'] };

describe('readTopology', () => {
  it('reads nodes by name, with defaults, and the mesh ranges to compile them with', () => {
    const read = readTopology({ mesh: { include: ['10.1.0.0/16', 'fd00::/64'] }, nodes: { web } });
    expect(read).toEqual({
      ok: true,
      nodes: [{ id: 'web', name: 'web', approvedRoutes: [], ...web }],
      options: { mesh: { include: ['10.1.0.0/16', 'fd00::/64'] } },
    });
    expect(readTopology({ nodes: {} })).toEqual({ ok: true, nodes: [], options: {} });
  });

  it('round-trips what the server answers', () => {
    const nodes: PolicyNode[] = [
      {
        id: 'n1',
        name: 'laptop',
        user: 'a@example.com',
        tags: [],
        ipv4: '100.64.0.1',
        ipv6: '',
        routableIPs: [],
        approvedRoutes: [],
      },
    ];
    const read = readTopology(JSON.parse(JSON.stringify(toTopology(nodes))));
    expect(read.ok && read.nodes).toEqual([{ ...nodes[0], id: 'laptop' }]);
  });

  it('names the field that is wrong', () => {
    const cases: Array<[unknown, string]> = [
      [[], 'top level'],
      [{ nodes: { web: { ...web, ipv4: '10.1.0.999' } } }, 'nodes.web.ipv4'],
      [{ nodes: { web: { ...web, routableIPs: ['192.168.0.1/24'] } } }, 'nodes.web.routableIPs.0'],
      [{ mesh: { include: ['10.1.0.0/16', '10.1.0.0/33'] }, nodes: {} }, 'mesh.include.1'],
      [{ mesh: { include: [] }, nodes: {} }, 'mesh.include'],
    ];
    for (const [json, where] of cases)
      expect(readTopology(json), JSON.stringify(json)).toMatchObject({ ok: false, where });
  });
});
