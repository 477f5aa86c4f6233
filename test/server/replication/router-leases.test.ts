import { expect, it } from 'vitest';
import { postgresPerTest } from '../../support/postgres-suite.ts';
import { describeWith, hasPostgres } from '../../support/prerequisites.ts';
import { PREFIX, ROUTER_POLICY, routerReplicas } from '../routes/router-replicas.ts';
import { eventuallyValue } from '../../support/eventually.ts';

const LEASE_MS = 600;

describeWith([hasPostgres()], "a replica renews its routers' presence leases (PostgreSQL)", () => {
  const db = postgresPerTest();
  const { replica, agent, joinRouter, stream } = routerReplicas(db, { routerLeaseMs: LEASE_MS });

  it("leases only routers' rows, renews them while it holds the streams, and writes a router's row again when it went missing", async () => {
    const r = await replica('a');
    await r.admin('PUT', '/api/v1/policy', { policy: ROUTER_POLICY });
    const router = await joinRouter(r, 'router');
    const laptop = agent(r, 'laptop');
    await laptop.join(await r.taggedKey(['tag:laptop']));
    await stream(router);
    await stream(laptop);
    const presence = r.server.store.presence;
    const rowOf = (id: string) => () => presence.get(id);

    const first = await eventuallyValue(
      'a leased router row',
      rowOf(router.node!.id),
      (p) => p?.leaseUntil !== undefined,
    );
    expect(first!.replicaId).toBe('a');
    const plain = await eventuallyValue('the laptop row', rowOf(laptop.node!.id), (p) => p !== undefined);
    expect(plain!.leaseUntil, 'a node without routes carries no lease').toBeUndefined();
    // Renewed a lease later, and never lapsed meanwhile.
    const renewed = await eventuallyValue(
      'a renewal',
      rowOf(router.node!.id),
      (p) => (p?.leaseUntil ?? 0) >= first!.leaseUntil! + LEASE_MS / 2,
    );
    expect(renewed!.replicaId).toBe('a');
    expect(await presence.lapsedLeases()).toEqual([]);

    // Removed underneath (as when this replica was taken for dead): written again, leased.
    expect(await presence.clear(router.node!.id, 'a')).toBe(true);
    const back = await eventuallyValue('the row written again', rowOf(router.node!.id), (p) => p !== undefined);
    expect(back).toMatchObject({ replicaId: 'a', leaseUntil: expect.any(Number) });
    expect(await presence.get(laptop.node!.id)).toMatchObject({ replicaId: 'a' });
  });

  it("leases a node's row once it advertises routes, and lets go of the lease once it withdraws them", async () => {
    const r = await replica('a');
    await r.admin('PUT', '/api/v1/policy', { policy: ROUTER_POLICY });
    const router = await joinRouter(r, 'router');
    await stream(router);
    const row = () => r.server.store.presence.get(router.node!.id);
    await eventuallyValue('a leased row', row, (p) => p?.leaseUntil !== undefined);

    await router.control.update({ advertiseRoutes: [] });
    const plain = await eventuallyValue(
      'the row without its lease',
      row,
      (p) => p !== undefined && p.leaseUntil === undefined,
    );
    expect(plain!.replicaId).toBe('a');
    // Past a lease: nothing lapses, since nothing is leased.
    await new Promise((res) => setTimeout(res, 2 * LEASE_MS));
    expect(await r.server.store.presence.lapsedLeases()).toEqual([]);

    await router.control.update({ advertiseRoutes: [PREFIX] });
    await eventuallyValue('leased again', row, (p) => p?.leaseUntil !== undefined);
  });
});
