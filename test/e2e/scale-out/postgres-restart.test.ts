import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../support/prerequisites.ts';
import { Lab } from '../harness/lab.ts';
import type { AgentHost } from '../mesh/agent-host.ts';
import { Cluster, clusterPrerequisites } from './cluster.ts';
import { JoinLoad } from './load.ts';
import { PingRun } from './ping-run.ts';

/**
 * PostgreSQL goes away under join load (every backend killed at once, as a crashed database
 * host) and comes back a few seconds later. While it is gone, requests that need it answer
 * 503 store.unavailable instead of hanging or failing some other way; no replica exits; once it
 * is back, the replicas reconnect, follow the change log again and lose nothing they
 * acknowledged.
 */
const POLICY = `{
  "tagOwners": { "tag:a": [], "tag:b": [], "tag:load": [] },
  "acls": [{ "action": "accept", "src": ["tag:a", "tag:b"], "dst": ["tag:a:*", "tag:b:*"] }],
}`;
const A_ONLY = `{
  "tagOwners": { "tag:a": [], "tag:b": [], "tag:load": [] },
  "acls": [{ "action": "accept", "src": ["tag:a"], "dst": ["tag:a:*"] }],
}`;
const OUTAGE_MS = 4_000;

describeWith(clusterPrerequisites(), 'PostgreSQL restarted under join load', () => {
  let lab: Lab;
  let cluster: Cluster;
  let load: JoinLoad | undefined;
  const agents: AgentHost[] = [];

  beforeAll(async () => {
    lab = await Lab.create({ tag: 'sc' });
    cluster = await Cluster.start(lab, { replicas: 3 });
    await cluster.setPolicy(POLICY);
    agents.push(await cluster.joinAgent('a0', await cluster.preAuthKey(['tag:a']), 0));
    agents.push(await cluster.joinAgent('b1', await cluster.preAuthKey(['tag:b']), 1));
    for (const a of agents) await a.until((s) => s.peers.length === 1 && s.peers[0]!.online, 'its peer', 30_000);
  }, 240_000);
  afterAll(async () => {
    await load?.stop().catch(() => undefined);
    load?.dispose();
    await cluster?.stop();
    await lab?.cleanup();
    for (const a of agents) a.dispose();
  }, 60_000);

  it('during the outage: 503 store.unavailable, no replica exits, tunnels carry traffic; after it: nothing acknowledged lost, changes flow again', async () => {
    const [a0, b1] = agents as [AgentHost, AgentHost];
    const ping = await PingRun.start(a0.host, await b1.ipv4());
    load = await JoinLoad.start(cluster.lb, cluster.url, await cluster.preAuthKey(['tag:load']), 2);
    await load.more(10, 60_000);

    await cluster.pg.kill();
    const startedAt = Date.now();
    // A write through each replica while the database is gone.
    const during = await Promise.all(
      [0, 1, 2].map((i) =>
        cluster.admin<{ code?: string; message?: string }>(
          'POST',
          '/api/v1/preauth-keys',
          { tags: ['tag:a'], reusable: false, ephemeral: false },
          cluster.replica(i).url,
        ),
      ),
    );
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - startedAt)));
    const refusedDuring = load.refusals.length;
    await cluster.pg.restart();
    const backAt = Date.now();

    await load.more(10, 60_000);
    const caughtUpMs = Date.now() - backAt;
    await load.stop();
    const pings = await ping.stop();

    for (const r of cluster.set.replicas) expect(r.running, `${r.name} exited:\n${r.output.slice(-3000)}`).toBe(true);
    for (const [i, res] of during.entries()) {
      expect(res.status, `r${i}: ${JSON.stringify(res.body)}\n${cluster.replica(i).output.slice(-3000)}`).toBe(503);
      expect(res.body.code, `r${i}`).toBe('store.unavailable');
      expect(res.body.message, `r${i}`).toBeTruthy();
    }
    // Joins refused during the outage were refused the same way, or got no answer at all from
    // haproxy: it may cut one off mid-request, and once the outage outlasts replica.cutOffMs (a
    // loaded machine restarts PostgreSQL slowly) every replica reports itself unhealthy, and in
    // TCP mode haproxy can only close the connections it has no replica for.
    expect(refusedDuring, 'joins refused while the database was gone').toBeGreaterThan(0);
    const noAnswer = ['0 network', '0 server.unreachable'];
    const unexpected = load.refusals.filter((r) => r !== '503 store.unavailable' && !noAnswer.includes(r));
    expect(unexpected, load.refusalLines.join('\n')).toEqual([]);

    // Every replica serves again only once it has caught up; until haproxy sees one ready it has nowhere to send a call.
    for (const r of cluster.set.replicas) await r.waitReady(30_000);
    await cluster.proxy.waitFor(
      cluster.set.replicas.map((r) => r.name),
      'UP',
      30_000,
    );
    const ids = new Set((await cluster.nodes()).map((n) => n.id));
    const lost = load.acknowledged.filter((id) => !ids.has(id));
    expect(lost, 'acknowledged joins missing from the store').toEqual([]);

    // Each replica follows the log again: a policy applied through r2 reaches a0 on r0 and b1 on r1.
    await cluster.setPolicy(A_ONLY, cluster.replica(2).url);
    await a0.until((s) => s.peers.length === 0, 'b1 gone under the tag:a-only policy', 20_000);
    await b1.until((s) => s.peers.length === 0, 'a0 gone under the tag:a-only policy', 20_000);
    for (const i of [0, 1, 2]) expect(await cluster.replica(i).readiness(), `r${i} ready`).toBe(200);

    console.log(
      JSON.stringify({
        outageMs: backAt - startedAt,
        refusals: load.refusals.length,
        acknowledged: load.acknowledged.length,
        joinsResumedMs: caughtUpMs,
        pingLoss: pings.loss,
      }),
    );
    // The tunnel never went through the database; loss only from the loaded machine.
    expect(pings.loss, pings.summary).toBeLessThanOrEqual(0.1);
  }, 240_000);
});
