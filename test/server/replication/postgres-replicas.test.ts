import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { LOCKS } from '../../../server/store/postgres/locks.ts';
import { postgresPerTest } from '../../support/postgres-suite.ts';
import { describeWith, hasPostgres } from '../../support/prerequisites.ts';
import { TestAgent } from '../../support/server.ts';
import { startReplica, type InProcessReplica } from './replicas.ts';

type Replica = InProcessReplica & { adminKey: string };

describeWith([hasPostgres()], 'replicas on a real PostgreSQL', () => {
  const db = postgresPerTest();
  let replicas: Replica[] = [];
  const agents: TestAgent[] = [];

  afterEach(async () => {
    for (const a of agents.splice(0)) a.stop();
    for (const r of replicas.splice(0).reverse()) await r.stop().catch(() => {});
  });

  const replica = async (id: string) => {
    const r = await startReplica(id, undefined, { store: { driver: 'postgres', url: db.url() } });
    replicas.push(r);
    return r;
  };
  const agentOn = async (r: InProcessReplica, name: string) => {
    const x = new TestAgent(r.url, name);
    agents.push(x);
    await x.join(await r.taggedKey());
    return x.connect();
  };
  const peer = (x: TestAgent, name: string) => [...x.map.peers.values()].find((p) => p.name === name);
  const eventually = async (what: string, ok: () => boolean | Promise<boolean>, ms = 10_000) => {
    const until = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const leaders = () => replicas.filter((r) => r.server.leadership.isLeader).map((r) => r.server.replicas.id);

  it('nodes joined through different replicas see each other online; a policy set on one reaches all', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const onA = await agentOn(a, 'on-a');
    const onB = await agentOn(b, 'on-b');
    await onA.until((x) => peer(x, 'on-b')?.online === true, 'on-b online on a', 10_000);
    await onB.until((x) => peer(x, 'on-a')?.online === true, 'on-a online on b', 10_000);
    await a.admin('PUT', '/api/v1/policy', { policy: '{ "acls": [] }' });
    await onB.until((x) => peer(x, 'on-a') === undefined, 'the policy from a on b', 10_000);
  });

  it('exactly one replica leads; killing its lock connection ends its leadership, and stopping it moves it', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await eventually('a leader', () => leaders().length === 1);
    const first = leaders()[0]!;
    const admin = new pg.Client({ connectionString: db.url() });
    await admin.connect();
    try {
      const killed = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2`,
        [LOCKS.leader[0], LOCKS.leader[1]],
      );
      expect(killed.rowCount).toBe(1);
    } finally {
      await admin.end();
    }
    await eventually(
      `${first} gives up leading`,
      () => !replicas.find((r) => r.server.replicas.id === first)!.server.leadership.isLeader,
      5000,
    );
    await eventually('a leader again', () => leaders().length === 1);
    const leader = replicas.find((r) => r.server.leadership.isLeader)!;
    const other = leader === a ? b : a;
    await leader.stop();
    replicas = replicas.filter((r) => r !== leader);
    await eventually('the other takes over', () => other.server.leadership.isLeader);
    expect(leaders()).toEqual([other.server.replicas.id]);
  });

  it('names the leader whichever replica is asked, and the new one once leadership moves', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await eventually('a leader', () => leaders().length === 1);
    const [leader, follower] = a.server.leadership.isLeader ? [a, b] : [b, a];
    const named = async (r: Replica) =>
      (await r.admin<{ items: Array<{ id: string; leader: boolean | null }> }>('GET', '/api/v1/replicas')).body.items
        .filter((x) => x.leader === true)
        .map((x) => x.id);
    await eventually('both naming the leader', async () => {
      const [l, f] = [await named(leader), await named(follower)];
      return l.join() === leader.server.replicas.id && f.join() === leader.server.replicas.id;
    });
    await leader.stop();
    replicas.splice(replicas.indexOf(leader), 1);
    await eventually('the follower leading', () => follower.server.leadership.isLeader);
    expect(await named(follower)).toEqual([follower.server.replicas.id]);
  });

  it("the leader expires a dead replica's presence, so its nodes show offline on the others", async () => {
    const a = await replica('a');
    const b = await replica('b');
    await eventually('a leader', () => leaders().length === 1);
    // The one that does not lead dies without a word: its heartbeat stops, its row stays.
    const victim = a.server.leadership.isLeader ? b : a;
    const survivor = victim === a ? b : a;
    const onVictim = await agentOn(victim, 'on-victim');
    const onSurvivor = await agentOn(survivor, 'on-survivor');
    await onSurvivor.until((x) => peer(x, 'on-victim')?.online === true, 'on-victim online', 10_000);
    // As a kill -9 would, from the others' side: its heartbeats stop.
    victim.server.replicas.beat = () => Promise.resolve();
    await eventually(
      'on-victim offline on the survivor',
      () => !survivor.server.engine.isOnline(onVictim.node!.id),
      10_000,
    );
    expect(survivor.server.replicas.list().map((r) => r.id)).toEqual([survivor.server.replicas.id]);
  });
});
