import { expect, it } from 'vitest';
import { postgresPerTest } from '../../support/postgres-suite.ts';
import { describeWith, hasPostgres } from '../../support/prerequisites.ts';
import { ROUTER_POLICY, routerReplicas } from './router-replicas.ts';
import { eventually } from '../../support/eventually.ts';

/** Short, so the test is quick; renewed and read every third of it. */
const LEASE_MS = 600;

/**
 * A router's presence row carries a lease its replica renews; the leader takes a router whose
 * lease lapsed for down. The router here is held by a replica "ghost" that exists only as the
 * presence row it wrote: it is never declared dead (it has no heartbeat row to go stale), so
 * only the lease can move the prefix.
 */
describeWith([hasPostgres()], 'router presence leases (PostgreSQL)', () => {
  const db = postgresPerTest();
  const { replica, joinRouter, stream, client, carriers, routeView } = routerReplicas(db, {
    routerLeaseMs: LEASE_MS,
  });

  it('moves a prefix off a router whose lease lapsed, keeps it while renewed, and does not flap back when the router reconnects elsewhere', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await eventually('a leader', () => [a, b].some((r) => r.server.leadership.isLeader));
    const leader = a.server.leadership.isLeader ? a : b;
    const other = leader === a ? b : a;
    await leader.admin('PUT', '/api/v1/policy', { policy: ROUTER_POLICY });
    const store = leader.server.store;

    // router-1, the oldest, on "ghost"; router-2 streams from the leader.
    const r1 = await joinRouter(leader, 'router-1');
    const r2 = await joinRouter(leader, 'router-2');
    // The ghost renews from the start: on a slow machine the joins that follow outlast a lease.
    await store.presence.set({ nodeId: r1.node!.id, replicaId: 'ghost', since: Date.now() }, LEASE_MS);
    const renewing = setInterval(() => void store.presence.renewLeases('ghost', [r1.node!.id], LEASE_MS), 100);
    let c: Awaited<ReturnType<typeof client>>;
    try {
      await stream(r2);
      c = await client(other, 'laptop');
      await c.until((x) => carriers(x).join() === 'router-1', 'router-1 primary', 10_000);

      // Renewed for several leases: it stays.
      await new Promise((r) => setTimeout(r, 3 * LEASE_MS));
    } finally {
      clearInterval(renewing);
    }
    expect(carriers(c)).toEqual(['router-1']);

    // No more renewals: the lease lapses and the prefix moves, with the row still there.
    const stopped = Date.now();
    await c.until((x) => carriers(x).join() === 'router-2', 'failover to router-2', 10_000);
    const tookMs = Date.now() - stopped;
    expect(tookMs).toBeGreaterThanOrEqual(LEASE_MS - 100);
    expect((await store.presence.get(r1.node!.id))?.replicaId).toBe('ghost');
    const moved = await routeView(leader);
    expect(moved?.reason).toBe("failover from router-1 (offline (replica ghost stopped renewing its stream's lease))");
    expect(moved?.routers.find((x) => x.name === 'router-1')?.role).toBe('offline');

    // router-1 reconnects, to a live replica: its new row is leased there, it is a standby again,
    // and the prefix stays with router-2 (no preemption), lease after lease.
    await stream(r1);
    await eventually('router-1 a standby', async () => {
      const v = await routeView(leader);
      return v?.routers.find((x) => x.name === 'router-1')?.role === 'standby';
    });
    await eventually(
      "router-1's row on the leader",
      async () => (await store.presence.get(r1.node!.id))?.replicaId === leader.server.replicas.id,
    );
    await new Promise((r) => setTimeout(r, 3 * LEASE_MS));
    expect(carriers(c)).toEqual(['router-2']);
    expect((await routeView(leader))?.primary?.name).toBe('router-2');
    expect(await store.presence.lapsedLeases()).toEqual([]);
  });
});
