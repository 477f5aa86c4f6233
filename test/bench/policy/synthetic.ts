/**
 * A synthetic organisation for the policy benchmark: users in groups, tagged servers, and rules
 * from groups and tags to tagged services, sized by the caller. Deterministic (seeded).
 */
import type { PolicyNode } from '../../../policy/index.ts';

export interface Shape {
  nodes: number;
  /** Groups and tags together; split evenly. */
  namedSets: number;
  rules: number;
  /** Fraction of nodes that are tagged servers. */
  taggedShare: number;
  devicesPerUser: number;
  groupsPerUser: number;
}

export const DEFAULT_SHAPE: Shape = {
  nodes: 10_000,
  namedSets: 500,
  rules: 2_000,
  taggedShare: 0.3,
  devicesPerUser: 2,
  groupsPerUser: 2,
};

/** Small, fast, seeded PRNG (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Synthetic {
  policyText: string;
  nodes: PolicyNode[];
  groups: string[];
  tags: string[];
  users: string[];
  userGroups: Map<string, string[]>;
}

function ipv4(i: number): string {
  const n = 0x64400000 + 1 + i; // 100.64.0.1 upwards
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

function ipv6(i: number): string {
  return `fd7a:115c:a1e0::${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
}

export function nodeAt(
  i: number,
  fields: Omit<PolicyNode, 'id' | 'name' | 'ipv4' | 'ipv6' | 'routableIPs' | 'approvedRoutes'>,
): PolicyNode {
  return {
    id: `n${i}`,
    name: `node-${i}`,
    ipv4: ipv4(i),
    ipv6: ipv6(i),
    routableIPs: [],
    approvedRoutes: [],
    ...fields,
  };
}

export function synthesize(shape: Shape = DEFAULT_SHAPE, seed = 42): Synthetic {
  const rnd = random(seed);
  const pick = <T>(list: T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const groups = Array.from({ length: shape.namedSets / 2 }, (_, i) => `group:team-${i}`);
  const tags = Array.from({ length: shape.namedSets / 2 }, (_, i) => `tag:svc-${i}`);
  const taggedNodes = Math.round(shape.nodes * shape.taggedShare);
  const userNodes = shape.nodes - taggedNodes;
  const users = Array.from({ length: Math.ceil(userNodes / shape.devicesPerUser) }, (_, i) => `user${i}@example.com`);
  const userGroups = new Map<string, string[]>();
  const members = new Map<string, string[]>(groups.map((g) => [g, []]));
  for (const u of users) {
    const mine = new Set<string>();
    while (mine.size < shape.groupsPerUser) mine.add(pick(groups));
    userGroups.set(u, [...mine]);
    for (const g of mine) members.get(g)?.push(u);
  }
  const nodes: PolicyNode[] = [];
  for (let i = 0; i < userNodes; i++)
    nodes.push(nodeAt(i, { user: users[Math.floor(i / shape.devicesPerUser)] as string, tags: [] }));
  for (let i = userNodes; i < shape.nodes; i++)
    nodes.push(nodeAt(i, { tags: [tags[(i - userNodes) % tags.length] as string] }));

  const rules: string[] = [];
  const ports = ['22', '443', '80,443', '5432', '8000-8100', '*'];
  for (let i = 0; i < shape.rules; i++) {
    const fromTag = rnd() < 0.25;
    const src = fromTag ? pick(tags) : pick(groups);
    rules.push(JSON.stringify({ action: 'accept', src: [src], dst: [`${pick(tags)}:${pick(ports)}`] }));
  }
  const policyText = [
    '// synthetic benchmark policy',
    '{',
    `  "groups": ${JSON.stringify(Object.fromEntries(members))},`,
    `  "tagOwners": ${JSON.stringify(Object.fromEntries(tags.map((t) => [t, ['group:team-0']])))},`,
    '  "hosts": {"legacy-db": "10.20.0.0/16"},',
    '  "acls": [',
    ...rules.map((r) => `    ${r},`),
    '  ],',
    '}',
  ].join('\n');
  return { policyText, nodes, groups, tags, users, userGroups };
}
