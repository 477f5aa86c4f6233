/** formatDiffMarkdown: a policy change's access diff, readable as a pull request comment. */
import { describe, expect, it } from 'vitest';
import { formatDiffMarkdown, type AccessDiff, type PolicyNode } from '../../policy/index.ts';

const node = (name: string, f: Partial<PolicyNode>): PolicyNode => ({
  id: name,
  name,
  tags: [],
  ipv4: '100.64.0.1',
  ipv6: '',
  routableIPs: [],
  approvedRoutes: [],
  ...f,
});
const nodes = [node('laptop', { user: 'alice@example.com' }), node('db', { tags: ['tag:db'] })];
const diff: AccessDiff = {
  granted: [{ src: 'laptop', dst: 'db', protos: 'tcp', ports: '5432' }],
  revoked: [{ src: 'db', dst: 'laptop', protos: 'tcp,udp,icmp,ipv6-icmp', ports: '*' }],
};

describe('formatDiffMarkdown', () => {
  it('has a table of gains and one of losses, naming each node with its owner or tags', () => {
    expect(formatDiffMarkdown(diff, { baseline: 'the live policy (version 7)', nodes })).toBe(
      [
        '### Access: 1 gained, 1 lost',
        '',
        'Compared with the live policy (version 7) on 2 nodes.',
        '',
        '#### Gained (1)',
        '',
        '| Source | Destination | Ports | Protocols |',
        '| --- | --- | --- | --- |',
        '| **laptop** (alice&#64;example.com) | **db** (tag:db) | 5432 | tcp |',
        '',
        '#### Lost (1)',
        '',
        '| Source | Destination | Ports | Protocols |',
        '| --- | --- | --- | --- |',
        '| **db** (tag:db) | **laptop** (alice&#64;example.com) | \\* | tcp,udp,icmp,ipv6-icmp |',
        '',
      ].join('\n'),
    );
  });

  it('says so when access does not change', () => {
    const text = formatDiffMarkdown({ granted: [], revoked: [] });
    expect(text).toMatch(/^### Access: no change\n/);
    expect(text).toContain('Every node reaches exactly what it reached before.');
    expect(text).not.toContain('|');
  });

  it('keeps names from the network inert: no new cells, links, tags, code or mentions', () => {
    const hostile = node('x|y', { user: '<img src=x>@[evil](https://e.example)`\n| a |' });
    const text = formatDiffMarkdown(
      { granted: [{ src: 'x|y', dst: 'db', protos: 'tcp', ports: '1' }], revoked: [] },
      { nodes: [hostile, nodes[1]!] },
    );
    const row = text.split('\n').find((l) => l.includes('tag:db'))!;
    expect(row.split(/(?<!\\)\|/)).toHaveLength(6); // four cells between the outer pipes
    expect(row).not.toMatch(/<img|(?<!\\)\[|(?<!\\)`|@/);
    expect(text.split('\n').filter((l) => l.startsWith('|'))).toHaveLength(3);
  });

  it('counts the rows past the limit instead of listing them', () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ src: `n${i}`, dst: 'db', protos: 'tcp', ports: '22' }));
    const text = formatDiffMarkdown({ granted: many, revoked: [] }, { maxRows: 2 });
    expect(text).toContain('#### Gained (5)');
    expect(text.split('\n').filter((l) => l.startsWith('| **n'))).toHaveLength(2);
    expect(text).toContain('…and 3 more; `trellis policy diff --format json` lists them all.');
  });
});
