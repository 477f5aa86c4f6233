import { describe, expect, it } from 'vitest';
import { compileFilter } from '../../../client/firewall/compile.ts';
import type { FilterRule } from '../../../protocol/filter.ts';

const compile = (rules: FilterRule[]) => compileFilter(rules, { iface: 'trellis0' });
const statements = (script: string) =>
  script
    .slice(script.indexOf('chain mesh_inbound'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.endsWith(' accept') && !l.startsWith('ct state'));
const rule = (srcIPs: string[], dst: string, first: number, last: number, ipProto = [6]): FilterRule => ({
  srcIPs,
  dstPorts: [{ ip: dst, ports: { first, last } }],
  ipProto,
});

describe('compiling the inbound filter to nftables', () => {
  it('replaces its own table in one script: add, delete, recreate', () => {
    const lines = compile([]).split('\n');
    expect(lines.slice(0, 3)).toEqual(['add table inet trellis', 'delete table inet trellis', 'table inet trellis {']);
  });

  it("with no rules, admits only replies to the node's own flows on the mesh interface and drops the rest", () => {
    const script = compile([]);
    expect(script).toContain('iifname "trellis0" jump mesh_inbound');
    expect(script).toMatch(
      /chain mesh_inbound \{\n\s+ct state established,related accept\n\s+ct state invalid drop\n\s+counter drop\n\s+\}/,
    );
    expect(statements(script)).toEqual([]);
  });

  it('judges only traffic that arrives on the mesh interface, for the node and for routes behind it', () => {
    const script = compile([]);
    expect(
      script.match(
        /type filter hook (input|forward) priority filter; policy accept;\n\s+iifname "trellis0" jump mesh_inbound/g,
      ),
    ).toHaveLength(2);
  });

  it('allows one source one TCP port', () => {
    const script = compile([rule(['100.64.0.1'], '100.64.0.2', 80, 80)]);
    expect(statements(script)).toEqual(['ip saddr @src4_0 ip daddr 100.64.0.2 meta l4proto 6 th dport 80 accept']);
    expect(script).toMatch(/set src4_0 \{\n\s+type ipv4_addr; flags interval;\n\s+elements = \{ 100.64.0.1 \}/);
  });

  it('puts many sources in one set, merging adjacent and overlapping ones, and shares it between rules', () => {
    const many = Array.from({ length: 300 }, (_, i) => `100.64.${i >> 8}.${i & 255}`);
    const script = compile([
      rule(many, '100.64.9.9', 22, 22),
      rule([...[...many].reverse(), '100.64.0.0/25'], '100.64.9.9', 80, 80),
      rule(['10.0.0.0/8', '10.1.0.0/16'], '*', 53, 53, [17]),
    ]);
    expect(script).toContain('elements = { 100.64.0.0-100.64.1.43 }');
    expect(script).toContain('elements = { 10.0.0.0/8 }');
    expect(statements(script)).toEqual([
      'ip saddr @src4_0 ip daddr 100.64.9.9 meta l4proto 6 th dport 22 accept',
      'ip saddr @src4_0 ip daddr 100.64.9.9 meta l4proto 6 th dport 80 accept',
      'ip saddr @src4_1 meta l4proto 17 th dport 53 accept',
    ]);
  });

  it('treats "*" sources as any address of either family', () => {
    expect(statements(compile([rule(['*'], '100.64.0.2', 443, 443)]))).toEqual([
      'ip daddr 100.64.0.2 meta l4proto 6 th dport 443 accept',
    ]);
    expect(statements(compile([rule(['*', '100.64.0.1'], '*', 443, 443)]))).toEqual([
      'meta nfproto ipv4 meta l4proto 6 th dport 443 accept',
      'meta nfproto ipv6 meta l4proto 6 th dport 443 accept',
    ]);
  });

  it('keeps IPv4 and IPv6 apart: sources of one family only meet destinations of the same family', () => {
    const r: FilterRule = {
      srcIPs: ['100.64.0.1', 'fd7a:115c:a1e0::1'],
      dstPorts: [
        { ip: '100.64.0.2', ports: { first: 80, last: 80 } },
        { ip: 'fd7a:115c:a1e0::2', ports: { first: 80, last: 80 } },
      ],
      ipProto: [6],
    };
    expect(statements(compile([r]))).toEqual([
      'ip saddr @src4_0 ip daddr 100.64.0.2 meta l4proto 6 th dport 80 accept',
      'ip6 saddr @src6_1 ip6 daddr fd7a:115c:a1e0::2 meta l4proto 6 th dport 80 accept',
    ]);
    expect(statements(compile([rule(['fd7a:115c:a1e0::1'], '100.64.0.2', 80, 80)]))).toEqual([]);
  });

  it('merges the port ranges of one destination and drops the port match for all ports', () => {
    const r: FilterRule = {
      srcIPs: ['100.64.0.1'],
      dstPorts: [
        { ip: '100.64.0.2', ports: { first: 8000, last: 8100 } },
        { ip: '100.64.0.2', ports: { first: 8050, last: 8200 } },
        { ip: '100.64.0.2', ports: { first: 22, last: 22 } },
        { ip: '100.64.0.3', ports: { first: 0, last: 65535 } },
      ],
      ipProto: [6, 17],
    };
    expect(statements(compile([r]))).toEqual([
      'ip saddr @src4_0 ip daddr 100.64.0.2 meta l4proto { 6, 17 } th dport { 22, 8000-8200 } accept',
      'ip saddr @src4_0 ip daddr 100.64.0.3 meta l4proto { 6, 17 } accept',
    ]);
  });

  it('matches protocols without ports on protocol alone, ICMP in IPv4 and ICMPv6 in IPv6 only', () => {
    const r = rule(['100.64.0.1', 'fd7a::1'], '*', 0, 65535, [6, 17, 1, 58, 47]);
    expect(statements(compile([r]))).toEqual([
      'ip saddr @src4_0 meta l4proto { 6, 17 } accept',
      'ip saddr @src4_0 meta l4proto { 1, 47 } accept',
      'ip6 saddr @src6_1 meta l4proto { 6, 17 } accept',
      'ip6 saddr @src6_1 meta l4proto { 47, 58 } accept',
    ]);
  });

  it('admits ICMP echo only through a rule that names ICMP', () => {
    expect(compile([rule(['100.64.0.1'], '100.64.0.2', 80, 80, [6])])).not.toMatch(/l4proto[^\n]*\b1\b/);
    expect(statements(compile([rule(['100.64.0.1'], '100.64.0.2', 0, 65535, [1])]))).toEqual([
      'ip saddr @src4_0 ip daddr 100.64.0.2 meta l4proto 1 accept',
    ]);
  });

  it('treats a source covering a whole family as any address of that family', () => {
    expect(statements(compile([rule(['0.0.0.0/0'], '*', 80, 80)]))).toEqual([
      'meta nfproto ipv4 meta l4proto 6 th dport 80 accept',
    ]);
  });

  it('writes SCTP ports, and ignores capability-only grants', () => {
    expect(statements(compile([rule(['100.64.0.1'], '100.64.0.2', 9000, 9000, [132])]))).toEqual([
      'ip saddr @src4_0 ip daddr 100.64.0.2 meta l4proto 132 th dport 9000 accept',
    ]);
    expect(
      statements(
        compile([
          { srcIPs: ['100.64.0.1'], dstPorts: [], ipProto: [6], capGrant: [{ dsts: ['100.64.0.2/32'], capMap: {} }] },
        ]),
      ),
    ).toEqual([]);
  });

  it('accepts the path probe port from any peer when asked to, for this node only (never forwarded)', () => {
    const script = compileFilter([], { iface: 'trellis0', probePort: 41642 });
    const input = script.slice(script.indexOf('chain input'), script.indexOf('chain forward'));
    expect(input).toContain('iifname "trellis0" udp dport 41642 accept');
    expect(input.indexOf('udp dport 41642')).toBeLessThan(input.indexOf('jump mesh_inbound'));
    expect(script.slice(script.indexOf('chain forward'))).not.toContain('41642');
    expect(compile([])).not.toContain('dport');
    expect(() => compileFilter([], { iface: 'trellis0', probePort: 70000 })).toThrowError(TypeError);
  });

  it("keeps the agent's service addresses for this machine: from any interface but loopback, dropped first", () => {
    const script = compileFilter([], {
      iface: 'trellis0',
      probePort: 41642,
      localOnly: ['100.100.100.100', 'fd7a:115c:a1e0::53'],
    });
    const input = script.slice(script.indexOf('chain input'), script.indexOf('chain forward'));
    expect(input).toContain('ip daddr { 100.100.100.100 } iifname != "lo" drop');
    expect(input).toContain('ip6 daddr { fd7a:115c:a1e0::53 } iifname != "lo" drop');
    // Before the probe port and the policy's rules, which could otherwise accept a crafted destination.
    expect(input.indexOf('100.100.100.100')).toBeLessThan(input.indexOf('udp dport 41642'));
    expect(compileFilter([], { iface: 'trellis0', localOnly: ['100.100.100.100'] })).not.toContain('ip6 daddr');
    expect(() => compileFilter([], { iface: 'trellis0', localOnly: ['100.100.100.100; flush ruleset'] })).toThrowError(
      TypeError,
    );
  });

  it('is deterministic', () => {
    const rules = [rule(['100.64.0.9', '100.64.0.1'], '100.64.0.2', 80, 80)];
    expect(compile(rules)).toBe(compile(structuredClone(rules)));
  });

  it('rejects what it cannot enforce, saying where', () => {
    expect(() => compile([rule(['100.64.0.1'], '100.64.0.2', 90, 80)])).toThrowError(
      expect.objectContaining({ code: 'firewall.invalid_rule', where: 'rules[0].dstPorts[0].ports' }),
    );
    expect(() => compile([rule(['100.64.0.1', 'not-an-ip'], '100.64.0.2', 80, 80)])).toThrowError(
      expect.objectContaining({ where: 'rules[0].srcIPs[1]', message: expect.stringContaining('not-an-ip') }),
    );
    expect(() => compile([rule(['100.64.0.1'], '100.64.0.2/33', 80, 80)])).toThrowError(
      expect.objectContaining({ where: 'rules[0].dstPorts[0].ip' }),
    );
    expect(() => compileFilter([], { iface: 'wg0"; flush ruleset' })).toThrowError(TypeError);
  });
});
