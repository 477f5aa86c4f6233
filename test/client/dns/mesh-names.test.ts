import { AUTHORITATIVE_ANSWER, RECURSION_DESIRED, type DecodedPacket } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { MeshNames, reverseName } from '../../../client/dns/mesh-names.ts';

const names = new MeshNames('mesh.example.internal', [
  { name: 'web1', addresses: ['100.64.0.7', 'fd7a:115c:a1e0::7'] },
  { name: 'DB', addresses: ['100.64.0.8', 'fd7a:115c:a1e0::8'] },
  { name: 'not a label', addresses: ['100.64.0.9'] },
  { name: 'web1', addresses: ['100.64.0.10'] },
]);
const query = (name: string, type = 'A', extra: Partial<DecodedPacket> = {}) =>
  ({
    type: 'query',
    id: 42,
    flags: RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    ...extra,
  }) as DecodedPacket;
const rcode = (p: { flags?: number }) => (p.flags ?? 0) & 0xf;

describe("MeshNames: the mesh's names as one node answers them", () => {
  it("answers <name>.<domain> with the node's IPv4 (A) and IPv6 (AAAA), authoritatively", () => {
    const a = names.answer(query('web1.mesh.example.internal'));
    expect(a).toMatchObject({
      type: 'response',
      id: 42,
      answers: [{ type: 'A', name: 'web1.mesh.example.internal', data: '100.64.0.7', ttl: 60 }],
    });
    expect(a.flags! & AUTHORITATIVE_ANSWER).toBeTruthy();
    expect(a.flags! & RECURSION_DESIRED).toBeTruthy(); // copied from the query, as RFC 1035 says
    expect(names.answer(query('web1.mesh.example.internal', 'AAAA')).answers).toEqual([
      { type: 'AAAA', name: 'web1.mesh.example.internal', ttl: 60, data: 'fd7a:115c:a1e0::7' },
    ]);
  });

  it("ignores case and a final dot, in the name asked and in the node's own name", () => {
    expect(names.answer(query('DB.Mesh.Example.Internal.')).answers).toMatchObject([{ data: '100.64.0.8' }]);
    expect(names.lookup('db.mesh.example.internal')).toEqual(['100.64.0.8', 'fd7a:115c:a1e0::8']);
  });

  it('says NXDOMAIN for an unknown name in the domain, and NODATA for a type a known name lacks', () => {
    const unknown = names.answer(query('nope.mesh.example.internal'));
    expect([rcode(unknown), unknown.answers]).toEqual([3, []]);
    const mx = names.answer(query('web1.mesh.example.internal', 'MX'));
    expect([rcode(mx), mx.answers]).toEqual([0, []]);
  });

  it('refuses names outside the mesh domain instead of guessing', () => {
    expect(rcode(names.answer(query('example.com')))).toBe(5);
    expect(rcode(names.answer(query('internal')))).toBe(5);
  });

  it('answers the reverse (PTR) of each mesh address, IPv4 and IPv6', () => {
    expect(names.answer(query(reverseName('100.64.0.8'), 'PTR')).answers).toMatchObject([
      { type: 'PTR', data: 'db.mesh.example.internal' },
    ]);
    expect(reverseName('fd7a:115c:a1e0::7')).toBe(
      '7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa',
    );
    expect(names.answer(query(reverseName('fd7a:115c:a1e0::7'), 'PTR')).answers).toMatchObject([
      { data: 'web1.mesh.example.internal' },
    ]);
  });

  it('leaves out names that are not DNS labels, and keeps the first of a repeated name', () => {
    expect(names.lookup('not a label.mesh.example.internal')).toBeUndefined();
    expect(names.lookup('web1.mesh.example.internal')).toEqual(['100.64.0.7', 'fd7a:115c:a1e0::7']);
  });

  it('answers FORMERR to a response or to several questions, NOTIMP to another opcode', () => {
    expect(rcode(names.answer(query('web1.mesh.example.internal', 'A', { type: 'response' })))).toBe(1);
    const two = query('web1.mesh.example.internal');
    two.questions!.push({ name: 'db.mesh.example.internal', type: 'A', class: 'IN' });
    expect(rcode(names.answer(two))).toBe(1);
    expect(rcode(names.answer(query('web1.mesh.example.internal', 'A', { flags: 2 << 11 })))).toBe(4); // STATUS
  });
});
