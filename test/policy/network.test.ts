/**
 * PolicyNetwork keeps per-node peers and filters up to date one change at a time. Its answers
 * must always equal a compile from scratch, and the ids it reports as affected must include
 * every node whose view changed.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicy, type Policy, PolicyNetwork, type PolicyNode } from '../../policy/index.ts';
import { random } from '../bench/policy/synthetic.ts';

function policyOf(text: string): Policy {
  const r = parsePolicy(text, 'test.hujson');
  if (!r.policy) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n'));
  return r.policy;
}

function node(id: string, fields: Partial<PolicyNode> & { i: number }): PolicyNode {
  const { i, ...rest } = fields;
  return {
    id,
    name: id,
    tags: [],
    routableIPs: [],
    approvedRoutes: [],
    ipv4: `100.64.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    ipv6: `fd7a:115c:a1e0::${i + 1}`,
    ...rest,
  };
}

const POLICY = `{
  "groups": {"group:eng": ["alice@example.com", "idp:engineering"], "group:ops": ["bob@example.com", "group:eng"]},
  "tagOwners": {"tag:web": ["group:ops"], "tag:db": ["group:ops"], "tag:router": ["group:ops"], "tag:exit": ["group:ops"]},
  "hosts": {"office": "10.1.0.0/16"},
  "autoApprovers": {"routes": {"10.0.0.0/8": ["tag:router"]}, "exitNode": ["tag:exit"]},
  "acls": [
    {"action": "accept", "src": ["group:eng"], "dst": ["tag:web:443", "tag:db:5432"]},
    {"action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"]},
    {"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"]},
    {"action": "accept", "src": ["group:ops"], "dst": ["office:22", "autogroup:internet:*"]},
    {"action": "accept", "src": ["10.1.2.0/24"], "dst": ["tag:web:80"]},
    {"action": "accept", "src": ["*"], "proto": "udp", "dst": ["tag:db:53"]},
  ],
}`;

const views = (net: PolicyNetwork, ids: string[]) =>
  new Map(ids.map((id) => [id, JSON.stringify([net.peersOf(id), net.filterOf(id)])]));

describe('PolicyNetwork semantics', () => {
  const policy = policyOf(POLICY);
  const alice = node('alice-laptop', { i: 1, user: 'alice@example.com' });
  const alice2 = node('alice-phone', { i: 2, user: 'alice@example.com' });
  const carol = node('carol', { i: 3, user: 'carol@example.com', idpGroups: ['engineering'] });
  const web = node('web', { i: 4, tags: ['tag:web'] });
  const db = node('db', { i: 5, tags: ['tag:db'] });
  const taggedByAlice = node('alice-server', { i: 6, user: 'alice@example.com', tags: ['tag:web'] });
  const router = node('router', { i: 7, tags: ['tag:router'], routableIPs: ['10.1.0.0/16'] });

  function network(...nodes: PolicyNode[]): PolicyNetwork {
    const net = new PolicyNetwork(policy);
    for (const n of nodes) net.upsertNode(n);
    return net;
  }

  it('gives a destination only the rules that reach it, with its own addresses', () => {
    const net = network(alice, web, db);
    expect(net.filterOf('web').slice(0, 1)).toEqual([
      {
        srcIPs: [alice.ipv4, alice.ipv6],
        dstPorts: [
          { ip: web.ipv4, ports: { first: 443, last: 443 } },
          { ip: web.ipv6, ports: { first: 443, last: 443 } },
        ],
        ipProto: [6, 17, 1, 58],
      },
    ]);
  });

  it('lets an identity-provider group claim make a user a group member', () => {
    const net = network(carol, web);
    expect(net.peersOf('carol')).toEqual(['web']);
    expect(net.filterOf('web')[0]?.srcIPs).toEqual([carol.ipv4, carol.ipv6]);
  });

  it('treats a tagged node as having no user identity', () => {
    const net = network(taggedByAlice, db);
    // As tag:web it reaches the database; as alice it would too, but through group:eng on 5432 only.
    const sources = net.filterOf('db').map((r) => r.srcIPs);
    expect(sources).toContainEqual([taggedByAlice.ipv4, taggedByAlice.ipv6]);
    // autogroup:self pairs alice's untagged devices only.
    const withAlice = network({ ...taggedByAlice, tags: ['tag:exit'] }, alice);
    expect(withAlice.peersOf('alice-laptop')).toEqual([]);
  });

  it('pairs each user with their own devices for autogroup:self', () => {
    const net = network(alice, alice2, carol);
    expect(net.peersOf('alice-laptop')).toEqual(['alice-phone']);
    expect(net.peersOf('carol')).toEqual([]);
    const self = net.filterOf('alice-phone').find((r) => r.dstPorts[0]?.ports.last === 65535);
    expect(self?.srcIPs.sort()).toEqual([alice.ipv4, alice.ipv6, alice2.ipv4, alice2.ipv6].sort());
  });

  it('counts auto-approved subnet routes as destinations and as sources', () => {
    const bob = node('bob', { i: 8, user: 'bob@example.com' });
    const net = network(bob, router, web);
    expect(net.peersOf('bob')).toEqual(['router']);
    expect(net.filterOf('router')[0]?.dstPorts.map((d) => d.ip)).toEqual(['10.1.0.0/16']);
    // 10.1.2.0/24 lies inside the router's route, so the router may reach web:80.
    expect(net.peersOf('web')).toEqual(['router']);
    expect(net.filterOf('web').at(-1)?.srcIPs).toEqual(['10.1.2.0/24']);
  });

  it('sends autogroup:internet only to approved exit nodes', () => {
    const bob = node('bob', { i: 8, user: 'bob@example.com' });
    const exit = node('exit', { i: 9, tags: ['tag:exit'], routableIPs: ['0.0.0.0/0', '::/0'] });
    const unapproved = node('exit2', { i: 10, tags: ['tag:web'], routableIPs: ['0.0.0.0/0'] });
    const net = network(bob, exit, unapproved);
    expect(net.peersOf('bob')).toEqual(['exit']);
    const dsts = net.filterOf('exit').flatMap((r) => r.dstPorts.map((d) => d.ip));
    expect(dsts).toContain('8.0.0.0/7');
    expect(dsts).not.toContain('10.0.0.0/8');
  });

  it('expands * as a source to the mesh ranges and approved routes', () => {
    const net = network(router, db);
    const dns = net.filterOf('db').find((r) => r.ipProto[0] === 17);
    expect(dns?.srcIPs).toContain('fd7a:115c:a1e0::/48');
    expect(dns?.srcIPs).toContain('10.1.0.0/16');
    expect(dns?.srcIPs).not.toContain('100.115.92.0/23');
  });
});

describe('PolicyNetwork incremental updates', () => {
  const policy = policyOf(POLICY);
  const users = ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com'];
  const tagSets = [['tag:web'], ['tag:db'], ['tag:router'], ['tag:exit'], ['tag:web', 'tag:db']];

  function randomNode(rnd: () => number, i: number): PolicyNode {
    const pick = <T>(l: T[]): T => l[Math.floor(rnd() * l.length)] as T;
    if (rnd() < 0.5) {
      return node(`n${i}`, { i, user: pick(users), ...(rnd() < 0.3 ? { idpGroups: ['engineering'] } : {}) });
    }
    const tags = pick(tagSets);
    const routableIPs = tags.includes('tag:router')
      ? [pick(['10.1.0.0/16', '10.2.0.0/16', '192.168.0.0/24'])]
      : tags.includes('tag:exit')
        ? ['0.0.0.0/0', '::/0']
        : [];
    return node(`n${i}`, { i, tags, routableIPs, approvedRoutes: rnd() < 0.2 ? routableIPs : [] });
  }

  it('always answers as a compile from scratch would, and reports every node whose view changed', () => {
    const rnd = random(1234);
    const net = new PolicyNetwork(policy);
    const live = new Map<string, PolicyNode>();
    for (let step = 0; step < 300; step++) {
      const ids = [...live.keys()];
      const before = views(net, ids);
      let affected: Set<string>;
      const r = rnd();
      if (r < 0.15 && ids.length > 0) {
        const id = ids[Math.floor(rnd() * ids.length)] as string;
        affected = net.removeNode(id);
        live.delete(id);
      } else {
        const i = r < 0.5 && ids.length > 0 ? Number((ids[Math.floor(rnd() * ids.length)] as string).slice(1)) : step;
        const n = randomNode(rnd, i);
        affected = net.upsertNode(n);
        live.set(n.id, n);
      }
      const fresh = new PolicyNetwork(policy);
      fresh.loadNodes(live.values());
      const now = views(net, [...live.keys()]);
      const want = views(fresh, [...live.keys()]);
      for (const [id, v] of want) expect(now.get(id), `step ${step}: ${id}`).toEqual(v);
      for (const [id, v] of before) {
        if (live.has(id) && now.get(id) !== v) expect(affected, `step ${step}: ${id} changed unreported`).toContain(id);
      }
    }
  });

  /** 60 random nodes, a policy change: what setPolicy reported, and whose view really changed. */
  const policyChange = (nextText: string, options?: { exact?: boolean }) => {
    const rnd = random(99);
    const nodes = Array.from({ length: 60 }, (_, i) => randomNode(rnd, i));
    const net = new PolicyNetwork(policy);
    net.loadNodes(nodes);
    const ids = nodes.map((n) => n.id);
    const before = views(net, ids);
    const reported = net.setPolicy(policyOf(nextText), options);
    const after = views(net, ids);
    return { reported, really: ids.filter((id) => before.get(id) !== after.get(id)) };
  };

  it('setPolicy reports exactly the nodes whose view changed', () => {
    const { reported, really } = policyChange(
      POLICY.replace('"tag:web:443", ', '').replace(
        '"group:ops": ["bob@example.com", "group:eng"]',
        '"group:ops": ["bob@example.com"]',
      ),
    );
    expect(really.length).toBeGreaterThan(0);
    expect([...reported].sort()).toEqual(really.sort());
  });

  it('setPolicy without exactness reports a superset of the nodes whose view changed', () => {
    const { reported, really } = policyChange(POLICY.replace('"tag:web:443", ', ''), { exact: false });
    expect(really.length).toBeGreaterThan(0);
    for (const id of really) expect(reported.has(id)).toBe(true);
  });

  it('answers as a compile from scratch through policy changes that keep or change every node key, and node changes after them', () => {
    // Variants that keep the node keys (only rules differ) and variants that change them (groups,
    // idp groups, auto-approvers, address selectors, identities named): both paths of setPolicy.
    const variants = [
      POLICY,
      POLICY.replace('"tag:web:443", ', ''),
      POLICY.replace('"tag:db:5432"]', '"tag:db:5433"]').replace('"dst": ["tag:web:80"]', '"dst": ["tag:web:8080"]'),
      POLICY.replace('"group:ops": ["bob@example.com", "group:eng"]', '"group:ops": ["bob@example.com"]'),
      POLICY.replace('"idp:engineering"', '"idp:platform"'),
      POLICY.replace('"10.0.0.0/8": ["tag:router"]', '"192.168.0.0/16": ["tag:router"]'),
      POLICY.replace('"exitNode": ["tag:exit"]', '"exitNode": []'),
      POLICY.replace('"src": ["10.1.2.0/24"]', '"src": ["100.64.0.0/24"]'),
      POLICY.replace('{"action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"]},', ''),
    ].map(policyOf);
    const rnd = random(4321);
    const live = new Map<string, PolicyNode>();
    for (let i = 0; i < 40; i++) {
      const n = randomNode(rnd, i);
      live.set(n.id, n);
    }
    let current = variants[0]!;
    const net = new PolicyNetwork(current);
    net.loadNodes(live.values());
    for (let step = 0; step < 120; step++) {
      const ids = [...live.keys()];
      const before = views(net, ids);
      let affected: Set<string>;
      if (rnd() < 0.4) {
        current = variants[Math.floor(rnd() * variants.length)]!;
        affected = net.setPolicy(current);
      } else {
        const i = Math.floor(rnd() * 50);
        const n = randomNode(rnd, i);
        affected = net.upsertNode(n);
        live.set(n.id, n);
      }
      const fresh = new PolicyNetwork(current);
      fresh.loadNodes(live.values());
      const now = views(net, [...live.keys()]);
      for (const [id, v] of views(fresh, [...live.keys()])) expect(now.get(id), `step ${step}: ${id}`).toEqual(v);
      for (const [id, v] of before)
        if (now.get(id) !== v) expect(affected, `step ${step}: ${id} changed unreported`).toContain(id);
    }
  });

  it('hands out one peer list object per content, across policy changes, so unchanged peers compare by identity', () => {
    const net = new PolicyNetwork(policy);
    net.loadNodes([
      node('a', { i: 1, user: 'alice@example.com' }),
      node('w', { i: 2, tags: ['tag:web'] }),
      node('d', { i: 3, tags: ['tag:db'] }),
    ]);
    const before = net.peerGroupOf('w');
    expect(before).toContain('d');
    // Ports move, peers stay: the very same list.
    net.setPolicy(policyOf(POLICY.replace('"dst": ["tag:db:5432"]', '"dst": ["tag:db:5433"]')));
    expect(net.peerGroupOf('w')).toBe(before);
    // Peers change: a different list, and peersOf leaves the node itself out either way.
    net.setPolicy(policyOf(POLICY.replace('"tag:web:443", ', '')));
    expect(net.peerGroupOf('w')).not.toBe(before);
    expect(net.peerGroupOf('w')).not.toContain('a');
    expect(net.peersOf('w')).toEqual(net.peerGroupOf('w').filter((p) => p !== 'w'));
  });

  it('reports only the node itself when an upsert changes nothing that matters', () => {
    const net = new PolicyNetwork(policy);
    const a = node('a', { i: 1, user: 'alice@example.com' });
    const w = node('w', { i: 2, tags: ['tag:web'] });
    net.upsertNode(a);
    net.upsertNode(w);
    expect(net.upsertNode({ ...a, name: 'renamed' })).toEqual(new Set(['a']));
  });
});
