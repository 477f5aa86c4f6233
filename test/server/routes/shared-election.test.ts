import { expect, it } from 'vitest';
import { postgresPerTest } from '../../support/postgres-suite.ts';
import { describeWith, hasPostgres } from '../../support/prerequisites.ts';
import { RawMapStream } from '../../support/router-agent.ts';
import type { InProcessReplica } from '../replication/replicas.ts';
import { PREFIX, ROUTER_POLICY, routerReplicas } from './router-replicas.ts';
import { eventually } from '../../support/eventually.ts';

describeWith([hasPostgres()], 'one route election for every replica (PostgreSQL)', () => {
  const db = postgresPerTest();
  const { replicas, streams, replica, joinRouter, stream, client, carriers, routeView } = routerReplicas(db);
  /** A router of PREFIX whose map stream is on replica `r`. */
  const router = async (r: InProcessReplica, name: string) => {
    const agent = await joinRouter(r, name);
    return { agent, stream: await stream(agent) };
  };
  const primaryOn = async (r: InProcessReplica) => {
    const view = await routeView(r);
    return { name: view?.primary?.name, reason: view?.reason };
  };
  /** Both replicas started, the first to lead known, the policy set. */
  const pair = async () => {
    const a = await replica('a');
    const b = await replica('b');
    await eventually('a leader', () => [a, b].filter((r) => r.server.leadership.isLeader).length === 1);
    const leader = a.server.leadership.isLeader ? a : b;
    const follower = leader === a ? b : a;
    await leader.admin('PUT', '/api/v1/policy', { policy: ROUTER_POLICY });
    return { leader, follower };
  };

  it('every replica serves the same primary, and all fail over together when the router’s replica loses its stream', async () => {
    const { leader, follower } = await pair();
    // The oldest router, the one elected, holds its stream on the replica that does not lead.
    const oldest = await router(follower, 'router-1');
    await router(leader, 'router-2');
    const onLeader = await client(leader, 'laptop-l');
    const onFollower = await client(follower, 'laptop-f');
    for (const c of [onLeader, onFollower]) {
      await c.until((x) => carriers(x).join() === 'router-1', `${c.hostname}: router-1 carries ${PREFIX}`, 10_000);
    }
    expect(await primaryOn(follower)).toEqual(await primaryOn(leader));
    expect((await primaryOn(leader)).name).toBe('router-1');

    oldest.stream.close();
    for (const c of [onLeader, onFollower]) {
      await c.until((x) => carriers(x).join() === 'router-2', `${c.hostname}: failover to router-2`, 10_000);
    }
    // Both say the same, reason included: the follower serves what the leader stored.
    await eventually('the same view on both replicas', async () => {
      const [l, f] = [await primaryOn(leader), await primaryOn(follower)];
      return l.name === 'router-2' && l.name === f.name && l.reason === f.reason;
    });
  });

  it('a replica that starts later serves the incumbent, not a fresh election of its own', async () => {
    const { leader, follower } = await pair();
    const oldest = await router(follower, 'router-1');
    // A replica electing alone would see router-1 come online first (presence loads in node-id
    // order) and keep it: make that so, or this test could not tell the two designs apart.
    let second = await router(leader, 'router-2');
    while (second.agent.node!.id < oldest.agent.node!.id) {
      second.stream.close();
      await leader.admin('DELETE', `/api/v1/nodes/${second.agent.node!.id}`);
      second = await router(leader, 'router-2');
    }
    const watcher = await client(leader, 'laptop-l');
    await watcher.until((x) => carriers(x).join() === 'router-1', 'router-1 primary', 10_000);
    oldest.stream.close();
    await watcher.until((x) => carriers(x).join() === 'router-2', 'failover to router-2', 10_000);
    // router-1 is back and outranks router-2 by age; the incumbent stays (no preemption).
    streams.push(await RawMapStream.open(oldest.agent));
    await eventually('router-1 online again', () => leader.server.engine.isOnline(oldest.agent.node!.id));

    // Elected alone, a fresh replica would pick router-1, the oldest.
    const late = await replica('c');
    const onLate = await client(late, 'laptop-c');
    await onLate.until((x) => carriers(x).join() === 'router-2', 'router-2 on the late replica', 10_000);
    expect((await primaryOn(late)).name).toBe('router-2');
    expect(carriers(watcher)).toEqual(['router-2']);
  });

  it('when the leader stops, the next one takes the election over from what is stored', async () => {
    const { leader, follower } = await pair();
    await router(follower, 'router-1');
    await router(leader, 'router-2');
    const onFollower = await client(follower, 'laptop-f');
    await onFollower.until((x) => carriers(x).join() === 'router-1', 'router-1 primary', 10_000);
    const stored = await follower.server.store.routePrimaries.get(PREFIX);
    expect(stored).toMatchObject({ nodeId: expect.any(String), electedBy: leader.server.replicas.id });

    // The leader goes, and router-2 (whose stream it held) with it: the primary stays router-1.
    await leader.stop();
    replicas.splice(replicas.indexOf(leader), 1);
    await eventually('the follower leads', () => follower.server.leadership.isLeader);
    await eventually('the election stored by the new leader', async () => {
      const row = await follower.server.store.routePrimaries.get(PREFIX);
      return row?.electedBy === follower.server.replicas.id;
    });
    expect(carriers(onFollower)).toEqual(['router-1']);
    expect((await primaryOn(follower)).reason).toBe('router-1 stays primary while it is healthy');
  });
  it('fences a deposed leader: once a newer term is claimed, its elections are no longer stored', async () => {
    const { leader, follower } = await pair();
    const first = await router(follower, 'router-1');
    await router(leader, 'router-2');
    const onFollower = await client(follower, 'laptop-f');
    await onFollower.until((x) => carriers(x).join() === 'router-1', 'router-1 primary', 10_000);
    const before = await leader.server.store.routePrimaries.get(PREFIX);
    expect(before).toMatchObject({ electedBy: leader.server.replicas.id });

    // A successor claims its term while this leader still believes it leads (its lock
    // connection died unnoticed): the failover it elects next must not overwrite the store.
    await leader.server.store.routePrimaries.claimTerm();
    first.stream.close();
    await eventually('the old leader elects router-2 in its own table', () => {
      const d = leader.server.engine.routes.decisions().get(PREFIX);
      return d?.primary !== undefined && d.primary !== before?.nodeId;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(await leader.server.store.routePrimaries.get(PREFIX)).toEqual(before);
    // The follower serves what is stored, not what the deposed leader elected.
    expect(carriers(onFollower)).toEqual(['router-1']);
  });
});
