/**
 * Grants with `app`, as Tailscale's control plane treats them: the capability lands in the
 * destination's filter as a CapGrant for the sources, the two sides become peers, no packet is
 * allowed by it, and the grants Tailscale refuses are refused with a code and a position.
 */
import { describe, expect, it } from 'vitest';
import {
  compileTopology,
  evaluate,
  parsePolicy,
  type Policy,
  PolicyNetwork,
  type PolicyNode,
} from '../../policy/index.ts';
import { random } from '../bench/policy/synthetic.ts';

const HEAD = `"groups": {"group:sre": ["alice@example.com"], "group:empty": []},
  "tagOwners": {"tag:k8s": ["group:sre"], "tag:web": ["group:sre"], "tag:router": ["group:sre"]},
  "hosts": {"everything": "0.0.0.0/0"}`;

function policyOf(grants: string, acls = '[]'): Policy {
  const r = parsePolicy(`{${HEAD}, "acls": ${acls}, "grants": ${grants}}`, 'test.hujson');
  if (!r.policy) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n'));
  return r.policy;
}

function problems(grants: string, acls = '[]') {
  return parsePolicy(`{${HEAD}, "acls": ${acls}, "grants": ${grants}}`, 'test.hujson').diagnostics;
}

/** The column (1-based) of `needle` on the line of the grants, where the diagnostics point. */
function columnOf(grants: string, needle: string): number {
  const line = `  "hosts": {"everything": "0.0.0.0/0"}, "acls": [], "grants": ${grants}`;
  return line.indexOf(needle) + 1;
}

function node(id: string, i: number, fields: Partial<PolicyNode> = {}): PolicyNode {
  return {
    id,
    name: id,
    tags: [],
    routableIPs: [],
    approvedRoutes: [],
    ipv4: `100.64.0.${i}`,
    ipv6: `fd7a:115c:a1e0::${i}`,
    ...fields,
  };
}

const alice = node('alice', 1, { user: 'alice@example.com' });
const bob = node('bob', 2, { user: 'bob@example.com' });
const proxy = node('proxy', 3, { tags: ['tag:k8s'] });
const web = node('web', 4, { tags: ['tag:web'] });
const KUBE = `[{"src": ["group:sre"], "dst": ["tag:k8s"], "app": {"trellis.dev/cap/kubernetes": [{"impersonate": {"groups": ["system:masters"]}}]}}]`;

describe('app grants: capabilities in the destination, and peers', () => {
  it('puts the capability in the destination as Tailscale writes it: sources and CapGrant, no ports', () => {
    const { nodes } = compileTopology(policyOf(KUBE), [alice, bob, proxy, web]);
    expect(nodes['proxy']?.packetFilter).toEqual([
      {
        SrcIPs: ['100.64.0.1', 'fd7a:115c:a1e0::1'],
        CapGrant: [
          {
            Dsts: ['100.64.0.3/32', 'fd7a:115c:a1e0::3/128'],
            CapMap: { 'trellis.dev/cap/kubernetes': [{ impersonate: { groups: ['system:masters'] } }] },
          },
        ],
      },
    ]);
    expect(nodes['alice']?.packetFilter).toEqual([]);
  });

  it('makes the two sides peers, both ways, and no one else', () => {
    const { nodes } = compileTopology(policyOf(KUBE), [alice, bob, proxy, web]);
    expect(nodes['alice']?.peers).toEqual(['proxy']);
    expect(nodes['proxy']?.peers).toEqual(['alice']);
    expect(nodes['bob']?.peers).toEqual([]);
    expect(nodes['web']?.peers).toEqual([]);
  });

  it('grants no packets by itself', () => {
    const net = new PolicyNetwork(policyOf(KUBE));
    net.loadNodes([alice, proxy]);
    expect(evaluate(net, { src: 'alice', dst: 'proxy', port: 443 }).verdict).toBe('deny');
  });

  it('narrows * to each destination node itself, with its own addresses as host prefixes', () => {
    const { nodes } = compileTopology(policyOf(`[{"src": ["*"], "dst": ["*"], "app": {"example.com/cap/test": []}}]`), [
      alice,
      web,
    ]);
    expect(nodes['web']?.packetFilter.map((r) => r.CapGrant)).toEqual([
      [{ Dsts: ['100.64.0.4/32', 'fd7a:115c:a1e0::4/128'], CapMap: { 'example.com/cap/test': [] } }],
    ]);
    expect(nodes['web']?.peers).toEqual(['alice']);
  });

  it('keeps a grant whose sources match nobody yet, and drops one with no sources at all', () => {
    const empty = compileTopology(
      policyOf(`[{"src": ["group:empty"], "dst": ["tag:web"], "app": {"example.com/cap/test": [{}]}}]`),
      [alice, web],
    );
    expect(empty.nodes['web']?.packetFilter).toEqual([
      {
        SrcIPs: [],
        CapGrant: [{ Dsts: ['100.64.0.4/32', 'fd7a:115c:a1e0::4/128'], CapMap: { 'example.com/cap/test': [{}] } }],
      },
    ]);
    const none = compileTopology(policyOf(`[{"src": [], "dst": ["tag:web"], "app": {"example.com/cap/test": [{}]}}]`), [
      alice,
      web,
    ]);
    expect(none.nodes['web']?.packetFilter).toEqual([]);
  });

  it('grants capabilities between a user’s own devices with autogroup:self', () => {
    const laptop = node('alice-laptop', 5, { user: 'alice@example.com' });
    const { nodes } = compileTopology(
      policyOf(`[{"src": ["autogroup:member"], "dst": ["autogroup:self"], "app": {"example.com/cap/sync": [{}]}}]`),
      [alice, laptop, bob],
    );
    expect(nodes['alice']?.peers).toEqual(['alice-laptop']);
    expect(nodes['alice']?.packetFilter[0]?.SrcIPs).toEqual([
      '100.64.0.1',
      '100.64.0.5',
      'fd7a:115c:a1e0::1',
      'fd7a:115c:a1e0::5',
    ]);
    expect(nodes['bob']?.peers).toEqual([]);
  });

  it('keeps peers current as nodes come and go, as a compile from scratch would', () => {
    const policy = policyOf(`[
      {"src": ["group:sre"], "dst": ["tag:k8s"], "app": {"trellis.dev/cap/kubernetes": [{}]}},
      {"src": ["tag:web"], "dst": ["autogroup:member"], "app": {"example.com/cap/x": [1]}},
      {"src": ["autogroup:member"], "dst": ["autogroup:self"], "app": {"example.com/cap/y": [2]}},
    ]`);
    const rnd = random(7);
    const net = new PolicyNetwork(policy);
    const live = new Map<string, PolicyNode>();
    const view = (n: PolicyNetwork, id: string) => JSON.stringify([n.peersOf(id), n.filterOf(id)]);
    for (let step = 0; step < 150; step++) {
      const ids = [...live.keys()];
      const before = new Map(ids.map((id) => [id, view(net, id)]));
      let affected: Set<string>;
      if (rnd() < 0.2 && ids.length > 0) {
        const id = ids[Math.floor(rnd() * ids.length)] as string;
        affected = net.removeNode(id);
        live.delete(id);
      } else {
        const i = 1 + Math.floor(rnd() * 30);
        const kind = rnd();
        const n =
          kind < 0.4
            ? node(`n${i}`, i, { user: rnd() < 0.5 ? 'alice@example.com' : 'bob@example.com' })
            : node(`n${i}`, i, { tags: [rnd() < 0.5 ? 'tag:k8s' : 'tag:web'] });
        affected = net.upsertNode(n);
        live.set(n.id, n);
      }
      const fresh = new PolicyNetwork(policy);
      fresh.loadNodes(live.values());
      for (const id of live.keys()) {
        expect(view(net, id), `step ${step}: ${id}`).toBe(view(fresh, id));
        if (before.has(id) && before.get(id) !== view(net, id)) expect(affected, `step ${step}: ${id}`).toContain(id);
      }
    }
  });
});

describe('app grants: what Tailscale refuses', () => {
  const one = (grants: string, acls?: string) => {
    const d = problems(grants, acls);
    return d.map((x) => ({ code: x.code, line: x.line, column: x.column, message: x.message }));
  };

  it('refuses a grant whose ip and app are both empty or absent', () => {
    for (const body of ['', `, "ip": []`, `, "app": {}`, `, "ip": [], "app": {}`]) {
      expect(one(`[{"src": ["*"], "dst": ["*"]${body}}]`).map((d) => d.code)).toEqual(['policy.empty_grant']);
    }
    expect(one(`[{"src": ["*"], "dst": ["*"]}]`)[0]?.message).toContain('ip and app can not both be empty');
  });

  it('refuses capability names in Tailscale’s own domain, pointing at Trellis’s own where there is one', () => {
    const grants = `[{"src": ["*"], "dst": ["tag:k8s"], "app": {"tailscale.com/cap/kubernetes": [{}]}}]`;
    expect(one(grants)).toEqual([
      {
        code: 'policy.reserved_capability',
        line: 3,
        column: columnOf(grants, '"tailscale.com'),
        message: expect.stringContaining("Trellis's capability is trellis.dev/cap/kubernetes"),
      },
    ]);
    expect(
      one(`[{"src": ["*"], "dst": ["*"], "app": {"foo.tailscale.com/x": [], "tailscale.com/cap/drive": []}}]`).map(
        (x) => x.code,
      ),
    ).toEqual(['policy.reserved_capability', 'policy.reserved_capability']);
    expect(one(`[{"src": ["*"], "dst": ["*"], "app": {"https://example.com/cap": []}}]`).map((x) => x.code)).toEqual([
      'policy.invalid_name',
    ]);
  });

  it('refuses app grants towards autogroup:internet', () => {
    expect(
      one(`[{"src": ["*"], "dst": ["autogroup:internet"], "app": {"example.com/cap/x": []}}]`).map((x) => x.code),
    ).toEqual(['policy.app_internet']);
    expect(one(`[{"src": ["*"], "dst": ["autogroup:internet"], "ip": ["*"]}]`)).toEqual([]);
  });

  it('refuses autogroup:danger-all as a destination, in grants and in ACLs, and keeps it as a source', () => {
    expect(one(`[{"src": ["*"], "dst": ["autogroup:danger-all"], "ip": ["*"]}]`).map((x) => x.code)).toEqual([
      'policy.danger_all_destination',
    ]);
    expect(
      one('[]', `[{"action": "accept", "src": ["*"], "dst": ["autogroup:danger-all:*"]}]`).map((x) => x.code),
    ).toEqual(['policy.danger_all_destination']);
    expect(one(`[{"src": ["autogroup:danger-all"], "dst": ["tag:web"], "ip": ["*"]}]`)).toEqual([]);
  });

  it('refuses autogroup:self with sources it cannot serve; grants, unlike ACLs, refuse * too', () => {
    const grants = `[{"src": ["tag:web", "group:sre"], "dst": ["autogroup:self"], "app": {"example.com/cap/x": []}}]`;
    expect(one(grants)).toEqual([
      {
        code: 'policy.self_mixed_source',
        line: 3,
        column: columnOf(grants, '"tag:web"'),
        message: expect.stringContaining('"tag:web" is none of these'),
      },
    ]);
    expect(one(`[{"src": ["*"], "dst": ["autogroup:self"], "ip": ["*"]}]`).map((x) => x.code)).toEqual([
      'policy.self_mixed_source',
    ]);
    expect(one('[]', `[{"action": "accept", "src": ["*"], "dst": ["autogroup:self:*"]}]`)).toEqual([]);
  });

  it('refuses a whole-range CIDR as a grant destination, where * or autogroup:internet is meant', () => {
    for (const dst of ['0.0.0.0/0', '::/0', 'everything']) {
      const d = one(`[{"src": ["*"], "dst": ["${dst}"], "ip": ["*"]}]`);
      expect(d.map((x) => x.code)).toEqual(['policy.whole_range_destination']);
      expect(d[0]?.message).toContain('use "*"');
    }
    expect(one(`[{"src": ["*"], "dst": ["10.0.0.0/8"], "ip": ["*"]}]`)).toEqual([]);
  });

  it('refuses a protocol name where a port belongs', () => {
    const d = one(`[{"src": ["*"], "dst": ["tag:web"], "ip": ["tcp:udp"]}]`);
    expect(d.map((x) => x.code)).toEqual(['policy.invalid_ports']);
    expect(d[0]?.message).toContain('"udp" is a protocol, not a port');
    const acl = one('[]', `[{"action": "accept", "src": ["*"], "dst": ["tag:web:tcp"]}]`);
    expect(acl.map((x) => x.code)).toEqual(['policy.invalid_ports']);
    expect(acl[0]?.message).toContain('name it in "proto"');
    expect(one(`[{"src": ["*"], "dst": ["tag:web"], "ip": ["tcp", "udp:53", "icmp"]}]`)).toEqual([]);
  });
});
