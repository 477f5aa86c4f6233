import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuditPage } from '../../../protocol/audit.ts';
import { describeWith } from '../../support/prerequisites.ts';
import { Lab } from '../harness/lab.ts';
import type { AgentHost } from '../mesh/agent-host.ts';
import { Cluster, clusterPrerequisites } from './cluster.ts';

/**
 * Three replicas on one PostgreSQL behind haproxy, and one real agent joined through each
 * replica directly (its server list starts there). No replica holds every node's stream, so
 * what one agent learns of the others came through the change log: a node joined on r1 is in
 * the map of a node streaming from r0, and their tunnel carries pings. A policy applied
 * through one replica reaches the nodes on all three.
 */
const BOTH = `{
  "tagOwners": { "tag:a": [], "tag:b": [] },
  "acls": [{ "action": "accept", "src": ["tag:a", "tag:b"], "dst": ["tag:a:*", "tag:b:*"] }],
}`;
const A_ONLY = `{
  "tagOwners": { "tag:a": [], "tag:b": [] },
  "acls": [{ "action": "accept", "src": ["tag:a"], "dst": ["tag:a:*"] }],
}`;

describeWith(clusterPrerequisites(), 'three replicas behind haproxy: one mesh', () => {
  let lab: Lab;
  let cluster: Cluster;
  const nodes: AgentHost[] = [];
  const peerNames = async (n: AgentHost) => (await n.status()).peers.map((p) => p.name).sort();

  beforeAll(async () => {
    lab = await Lab.create({ tag: 'sc' });
    cluster = await Cluster.start(lab, { replicas: 3 });
    await cluster.setPolicy(BOTH, cluster.replica(0).url);
    const keyA = await cluster.preAuthKey(['tag:a']);
    const keyB = await cluster.preAuthKey(['tag:b']);
    // n0 and n1 are tag:a, n2 tag:b; node i joins through replica i.
    for (const [i, key] of [keyA, keyA, keyB].entries()) nodes.push(await cluster.joinAgent(`n${i}`, key, i));
  }, 240_000);
  afterAll(async () => {
    await cluster?.stop();
    await lab?.cleanup();
    for (const n of nodes) n.dispose();
  }, 60_000);

  it('each node streams from the replica it joined through', async () => {
    for (const [i, n] of nodes.entries()) {
      const s = await n.until((s) => s.connected, 'a map stream');
      expect(s.connectedTo, n.label).toBe(cluster.replica(i).url);
    }
  });

  it('nodes joined through different replicas see each other online and ping over the tunnel', async () => {
    for (const n of nodes) {
      await n.until(
        (s) => s.peers.length === 2 && s.peers.every((p) => p.online),
        'both other nodes online in its map',
        30_000,
      );
    }
    const ips = await Promise.all(nodes.map((n) => n.ipv4()));
    for (const [i, from] of nodes.entries()) {
      for (const [j, to] of ips.entries()) {
        if (i === j) continue;
        const ok = await from.host.pingUntil(to, 15_000);
        expect(
          ok,
          `${from.label} -> n${j} over the tunnel; peers: ${JSON.stringify((await from.status()).peers)}`,
        ).toBe(true);
      }
    }
  }, 120_000);

  it('a policy applied through one replica reaches the nodes on all three: n2 loses its peers, then gains them back', async () => {
    const [n0, n1, n2] = nodes as [AgentHost, AgentHost, AgentHost];
    await cluster.setPolicy(A_ONLY, cluster.replica(1).url);
    await n2.until((s) => s.peers.length === 0, 'no peers under the tag:a-only policy', 20_000);
    await n0.until((s) => s.peers.map((p) => p.name).join() === 'n1', 'only n1', 20_000);
    await n1.until((s) => s.peers.map((p) => p.name).join() === 'n0', 'only n0', 20_000);
    expect(await n2.host.ping(await n0.ipv4(), 2)).toBe(false);

    await cluster.setPolicy(BOTH, cluster.replica(2).url);
    for (const n of nodes) await n.until((s) => s.peers.length === 2, 'both peers again', 20_000);
    expect(await peerNames(n2)).toEqual(['n0', 'n1']);
    expect(await n2.host.pingUntil(await n1.ipv4(), 15_000)).toBe(true);
  }, 120_000);

  it('the admin API answers the same nodes, online, through every replica', async () => {
    for (const i of [0, 1, 2]) {
      const items = await cluster.nodes(cluster.replica(i).url);
      expect(items.map((n) => n.name).sort(), `through r${i}`).toEqual(['n0', 'n1', 'n2']);
    }
  });

  it("audits admin changes made through haproxy with the admin host's address (PROXY v2), not haproxy's", async () => {
    const res = await cluster.admin<AuditPage>('GET', '/api/v1/audit?kind=admin&outcome=success');
    const keys = res.body.items.filter((e) => e.code === 'POST /api/v1/preauth-keys');
    expect(keys).toHaveLength(2);
    expect(new Set(keys.map((e) => e.source))).toEqual(new Set([cluster.adminHost.address]));
    expect(cluster.adminHost.address).not.toBe(cluster.lb.address);
  });
});
