import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../support/prerequisites.ts';
import { Lab } from '../harness/lab.ts';
import type { AgentHost } from '../mesh/agent-host.ts';
import { Cluster, clusterPrerequisites } from './cluster.ts';
import { JoinLoad } from './load.ts';
import { PingRun } from './ping-run.ts';

/**
 * `kill -9` of a replica while nodes join through haproxy. Two agents stream from r0 (the
 * victim), one from r1. When r0 dies, its agents move on along their server lists and get maps
 * from another replica; every join a replica acknowledged, before or during the kill, is in the
 * store afterwards; and the tunnels, which never went through any replica, keep carrying pings.
 */
const POLICY = `{
  "tagOwners": { "tag:a": [], "tag:load": [] },
  "acls": [{ "action": "accept", "src": ["tag:a"], "dst": ["tag:a:*"] }],
}`;
/** Pings lost over a tunnel while its nodes' replica dies: the machine is loaded, the path is not touched. */
const MAX_PING_LOSS = 0.1;

describeWith(clusterPrerequisites(), 'kill -9 of a replica under join load', () => {
  let lab: Lab;
  let cluster: Cluster;
  let load: JoinLoad | undefined;
  const agents: AgentHost[] = [];

  beforeAll(async () => {
    lab = await Lab.create({ tag: 'sc' });
    cluster = await Cluster.start(lab, { replicas: 3 });
    await cluster.setPolicy(POLICY);
    const key = await cluster.preAuthKey(['tag:a']);
    // v0 and v1 on the victim r0, s on r1.
    for (const [label, first] of [
      ['v0', 0],
      ['v1', 0],
      ['s', 1],
    ] as const)
      agents.push(await cluster.joinAgent(label, key, first));
    for (const a of agents)
      await a.until((s) => s.peers.length === 2 && s.peers.every((p) => p.online), 'peers', 30_000);
  }, 240_000);
  afterAll(async () => {
    await load?.stop().catch(() => undefined);
    load?.dispose();
    await cluster?.stop();
    await lab?.cleanup();
    for (const a of agents) a.dispose();
  }, 60_000);

  it("the victim's agents move to another replica and get maps; no acknowledged join is lost; tunnels keep carrying traffic", async () => {
    const [v0, v1, s] = agents as [AgentHost, AgentHost, AgentHost];
    const victim = cluster.replica(0);
    for (const v of [v0, v1]) expect((await v.status()).connectedTo).toBe(victim.url);
    const ips = { v0: await v0.ipv4(), v1: await v1.ipv4() };
    // Across replicas (s on r1 -> v0 on r0) and within the victim's own pair.
    const pingAcross = await PingRun.start(s.host, ips.v0);
    const pingWithin = await PingRun.start(v1.host, ips.v0);
    load = await JoinLoad.start(cluster.lb, cluster.url, await cluster.preAuthKey(['tag:load']), 2);
    await load.more(10, 60_000);
    const versions = await Promise.all([v0, v1].map(async (v) => (await v.status()).mapVersion));

    const killedAt = performance.now();
    await victim.kill9();
    const movedAt = await Promise.all(
      [v0, v1].map(async (v) => {
        await v.until((st) => st.connected && st.connectedTo !== victim.url, 'a stream on another replica', 30_000);
        return performance.now();
      }),
    );
    const failoverMs = Math.round(Math.max(...movedAt) - killedAt);

    // The joins go on through the replicas left; then every acknowledged one must be in the store.
    await load.more(10, 60_000);
    await load.stop();
    const [pingS, pingV] = await Promise.all([pingAcross.stop(), pingWithin.stop()]);

    // Maps from the new replica: a change made after the move (a node deleted through r2) reaches them.
    const stored = await cluster.nodes(cluster.replica(2).url);
    const ids = new Set(stored.map((n) => n.id));
    const lost = load.acknowledged.filter((id) => !ids.has(id));
    const doomed = stored.find((n) => n.name.startsWith('load-'))!;
    expect(
      (await cluster.admin('DELETE', `/api/v1/nodes/${doomed.id}`, undefined, cluster.replica(2).url)).status,
    ).toBe(204);
    for (const [i, v] of [v0, v1].entries()) {
      const st = await v.until((st) => st.connected && st.mapVersion > versions[i]!, 'a newer map', 20_000);
      expect(st.peers.map((p) => p.name).sort(), v.label).toEqual(v === v0 ? ['s', 'v1'] : ['s', 'v0']);
    }

    console.log(
      JSON.stringify({
        failoverMs,
        acknowledged: load.acknowledged.length,
        refusals: load.refusals,
        pingLoss: { acrossReplicas: pingS.loss, onVictim: pingV.loss },
      }),
    );
    expect(lost, 'acknowledged joins missing from the store').toEqual([]);
    expect(pingS.loss, `s -> v0: ${pingS.summary}`).toBeLessThanOrEqual(MAX_PING_LOSS);
    expect(pingV.loss, `v1 -> v0: ${pingV.summary}`).toBeLessThanOrEqual(MAX_PING_LOSS);
    expect(failoverMs).toBeLessThan(20_000);
    // The cluster keeps serving: the two replicas left are ready, haproxy sends nothing to r0.
    for (const i of [1, 2]) expect(await cluster.replica(i).readiness()).toBe(200);
  }, 240_000);
});
