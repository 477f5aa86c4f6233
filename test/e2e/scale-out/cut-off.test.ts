import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../support/prerequisites.ts';
import { Lab } from '../harness/lab.ts';
import type { AgentHost } from '../mesh/agent-host.ts';
import { Cluster, clusterPrerequisites } from './cluster.ts';

/**
 * One replica cut off from PostgreSQL (its packets to the database dropped in its own
 * namespace), the others untouched. It must not serve its cache as current: after
 * `replica.cutOffMs` it refuses writes with 503 store.unavailable, says on /healthz that the
 * store is unreachable and why (so haproxy takes it out), and closes its map streams, whose
 * agents move to a replica that has the database. Healed, it catches up and serves again.
 */
const CUT_OFF_MS = 2_000;
const POLICY = `{
  "tagOwners": { "tag:a": [] },
  "acls": [{ "action": "accept", "src": ["tag:a"], "dst": ["tag:a:*"] }],
}`;

interface Health {
  status: string;
  store?: { reachable: boolean; reason?: string; since?: string };
}

describeWith(clusterPrerequisites(), 'a replica cut off from the database', () => {
  let lab: Lab;
  let cluster: Cluster;
  const agents: AgentHost[] = [];
  let cut = false;

  beforeAll(async () => {
    lab = await Lab.create({ tag: 'sc' });
    cluster = await Cluster.start(lab, { replicas: 3, flags: ['--replica.cutOffMs', String(CUT_OFF_MS)] });
    await cluster.setPolicy(POLICY);
    const key = await cluster.preAuthKey(['tag:a']);
    agents.push(await cluster.joinAgent('c0', key, 0), await cluster.joinAgent('c1', key, 1));
    for (const a of agents) await a.until((s) => s.peers.length === 1 && s.peers[0]!.online, 'its peer', 30_000);
  }, 240_000);
  afterAll(async () => {
    if (cut) await cluster.cutOffFromDatabase(0, false).catch(() => undefined);
    await cluster?.stop();
    await lab?.cleanup();
    for (const a of agents) a.dispose();
  }, 60_000);

  it('refuses writes, reports not ready with the reason and sheds its streams; healed, it serves again', async () => {
    const [c0, c1] = agents as [AgentHost, AgentHost];
    const r0 = cluster.replica(0);
    expect((await c0.status()).connectedTo).toBe(r0.url);

    await cluster.cutOffFromDatabase(0, true);
    cut = true;
    const cutAt = Date.now();
    let health: { status: number; body: Health } = { status: 0, body: { status: '' } };
    while (Date.now() - cutAt < CUT_OFF_MS + 20_000) {
      health = await cluster.admin<Health>('GET', '/healthz', undefined, r0.url);
      if (health.status === 503) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const notReadyMs = Date.now() - cutAt;
    expect(health.status, JSON.stringify(health.body)).toBe(503);
    expect(health.body.store?.reachable).toBe(false);
    expect(health.body.store?.reason).toBeTruthy();

    const write = await cluster.admin<{ code: string; message: string }>(
      'POST',
      '/api/v1/preauth-keys',
      { tags: ['tag:a'], reusable: false, ephemeral: false },
      r0.url,
    );
    expect(write.status, JSON.stringify(write.body)).toBe(503);
    expect(write.body.code).toBe('store.unavailable');
    expect(write.body.message).toBeTruthy();

    // Its agent moves to a replica that has the database; writes through haproxy go there too.
    await c0.until((s) => s.connected && s.connectedTo !== r0.url, 'a stream on another replica', 30_000);
    const movedMs = Date.now() - cutAt;
    await cluster.proxy.waitFor([r0.name], 'DOWN', 15_000);
    expect(
      (await cluster.admin('POST', '/api/v1/preauth-keys', { tags: ['tag:a'], reusable: false, ephemeral: false }))
        .status,
    ).toBe(201);
    expect(await c1.host.pingUntil(await c0.ipv4(), 10_000)).toBe(true);
    expect(r0.running, r0.output.slice(-2000)).toBe(true);

    await cluster.cutOffFromDatabase(0, false);
    cut = false;
    await r0.waitReady(30_000);
    // Caught up: what changed while it was cut off is what it serves now, and it takes writes again.
    const names = (await cluster.nodes(r0.url)).map((n) => n.name).sort();
    expect(names).toEqual(['c0', 'c1']);
    expect(
      (
        await cluster.admin(
          'POST',
          '/api/v1/preauth-keys',
          { tags: ['tag:a'], reusable: false, ephemeral: false },
          r0.url,
        )
      ).status,
    ).toBe(201);
    console.log(JSON.stringify({ notReadyMs, movedMs }));
  }, 180_000);
});
