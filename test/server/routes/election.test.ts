import { describe, expect, it } from 'vitest';
import { elect, follow, type Candidate } from '../../../server/routes/election.ts';
import { RouteTable, type RouterInfo } from '../../../server/routes/route-table.ts';

const router = (nodeId: string, priority: number, extra: Partial<Candidate> = {}): Candidate => ({
  nodeId,
  name: nodeId,
  priority,
  createdAt: nodeId === 'low' ? 1 : 2,
  approved: true,
  online: true,
  ...extra,
});

describe('preemption with a hold-down', () => {
  it('leaves the prefix with the primary until the outranking router has been eligible for the whole hold-down', () => {
    const candidates = [router('low', 100), router('high', 300, { eligibleSince: 1_000 })];
    const held = elect(candidates, 'low', { holdDownMs: 10_000, now: 10_999 });
    expect(held.primary).toBe('low');
    expect(held.reason).toMatch(/low stays primary until high, which outranks it, has been healthy for the 10000 ms/);
    expect(held.ballots.get('high')?.role).toBe('standby');
    const taken = elect(candidates, 'low', { holdDownMs: 10_000, now: 11_000 });
    expect(taken.primary).toBe('high');
    expect(taken.reason).toMatch(/high outranks low \(priority 300 > 100, preempt on/);
  });

  it('never preempts without preempt, however long the better router has been healthy', () => {
    const candidates = [router('low', 100), router('high', 300, { eligibleSince: 0 })];
    expect(elect(candidates, 'low').primary).toBe('low');
  });

  it('fails over at once, hold-down or not: only taking a prefix back waits', () => {
    const candidates = [router('low', 100, { online: false }), router('high', 300, { eligibleSince: 5 })];
    expect(elect(candidates, 'low', { holdDownMs: 10_000, now: 6 }).primary).toBe('high');
  });
});

describe('the route table with preempt on', () => {
  const info = (nodeId: string, priority: number, online: boolean): RouterInfo => ({
    nodeId,
    name: nodeId,
    tags: [],
    priority,
    createdAt: nodeId === 'low' ? 1 : 2,
    online,
    advertised: ['10.1.0.0/16'],
    approved: new Set(['10.1.0.0/16']),
  });

  it('restarts the hold-down each time a flapping router falls out, and hands over once it held', () => {
    let now = 0;
    const table = new RouteTable({ preempt: true, holdDownMs: 10_000, now: () => now });
    table.update([info('low', 100, true), info('high', 300, false)]);
    expect(table.primary('10.1.0.0/16')).toBe('low');
    // "high" flaps: up for 6 s, down, up again; the first 6 s do not count toward the second.
    table.update([info('low', 100, true), info('high', 300, true)]);
    expect(table.holdDownEndsAt()).toBe(10_000);
    now = 6_000;
    table.update([info('low', 100, true), info('high', 300, false)]);
    expect(table.holdDownEndsAt()).toBeUndefined();
    now = 7_000;
    table.update([info('low', 100, true), info('high', 300, true)]);
    now = 16_999;
    expect(table.update([info('low', 100, true), info('high', 300, true)])).toEqual([]);
    expect(table.primary('10.1.0.0/16')).toBe('low');
    expect(table.holdDownEndsAt()).toBe(17_000);
    now = 17_000;
    const [change] = table.update([info('low', 100, true), info('high', 300, true)]);
    expect(change).toMatchObject({ prefix: '10.1.0.0/16', from: { name: 'low' }, to: { name: 'high' } });
    expect(table.holdDownEndsAt()).toBeUndefined();
  });
});

describe("following the leader replica's decision", () => {
  it('serves the decided primary even where this replica sees it unfit, the others as it sees them', () => {
    const candidates = [router('low', 100, { online: false }), router('high', 300), router('mid', 200)];
    const out = follow(candidates, { primary: 'low', reason: 'low stays primary while it is healthy' });
    expect(out.primary).toBe('low');
    expect(out.reason).toBe('low stays primary while it is healthy');
    expect(out.ballots.get('low')).toEqual({ role: 'primary', reason: 'low stays primary while it is healthy' });
    expect(out.standbys).toEqual(['high', 'mid']);
  });

  it('routes a prefix to nobody until the leader has decided, and when its primary is unknown here', () => {
    const candidates = [router('low', 100), router('high', 300)];
    expect(follow(candidates, undefined)).toMatchObject({ primary: undefined, standbys: ['high', 'low'] });
    expect(follow(candidates, undefined).reason).toMatch(/not elected yet/);
    expect(follow(candidates, { primary: 'joined-elsewhere', reason: 'x' }).primary).toBeUndefined();
  });
});

describe('a router whose presence lease lapsed (several replicas)', () => {
  it('is down: its prefix fails over to the standby, and the reason names the replica that stopped renewing', () => {
    const candidates = [router('low', 100, { leaseLapsedOn: 'r0' }), router('high', 100)];
    const out = elect(candidates, 'low');
    expect(out.primary).toBe('high');
    expect(out.reason).toBe("failover from low (offline (replica r0 stopped renewing its stream's lease))");
    expect(out.ballots.get('low')).toEqual({
      role: 'offline',
      reason: "offline (replica r0 stopped renewing its stream's lease)",
    });
    expect(out.standbys).toEqual([]);
  });

  it('is never elected, and a prefix whose only router lapsed has no primary', () => {
    expect(elect([router('low', 100, { leaseLapsedOn: 'r0' }), router('high', 300)], undefined).primary).toBe('high');
    const none = elect([router('low', 100, { leaseLapsedOn: 'r0' })], 'low');
    expect(none.primary).toBeUndefined();
    expect(none.reason).toMatch(/no approved router is online and healthy \(low: offline \(replica r0 stopped/);
  });
});
