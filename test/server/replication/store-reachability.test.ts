import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { StoreReachability } from '../../../server/replication/store-reachability.ts';

describe('store reachability', () => {
  const setUp = () => {
    let clock = 0;
    const db = { up: true, followerError: undefined as Error | undefined, wakes: 0 };
    const changes: boolean[] = [];
    const r = new StoreReachability({
      ping: async () => {
        if (!db.up) throw new Error('connect ECONNREFUSED');
      },
      follower: {
        get error() {
          return db.followerError;
        },
        wake: async () => void db.wakes++,
      },
      checkMs: 50,
      cutOffMs: 1_000,
      now: () => clock,
      logger: pino({ level: 'silent' }),
    });
    r.onChange((s) => changes.push(s.reachable));
    return { r, db, changes, advance: (ms: number) => (clock += ms) };
  };

  it('is cut off only once the database has been silent for cutOffMs, and says why', async () => {
    const { r, db, changes, advance } = setUp();
    db.up = false;
    await r.check();
    advance(999);
    await r.check();
    expect(r.reachable).toBe(true);
    expect(r.refusal()).toBeUndefined();
    advance(1);
    await r.check();
    expect(r.state).toEqual({ reachable: false, reason: 'connect ECONNREFUSED', since: 0 });
    expect(r.refusal()?.code).toBe('store.unavailable');
    expect(r.refusal()?.message).toMatch(/has not reached the database for 1 s \(connect ECONNREFUSED\)/);
    expect(changes).toEqual([false]);
  });

  it('is cut off when the change log cannot be read for cutOffMs, even while pings answer', async () => {
    const { r, db, advance } = setUp();
    db.followerError = new Error('permission denied for table changes');
    await r.check();
    advance(1_000);
    await r.check();
    expect(r.state).toMatchObject({ reachable: false, reason: 'change log: permission denied for table changes' });
  });

  it('serves again only after the database answers and the change log has caught up', async () => {
    const { r, db, changes, advance } = setUp();
    db.up = false;
    advance(1_000);
    await r.check();
    expect(r.reachable).toBe(false);
    db.up = true;
    db.followerError = new Error('still reading');
    await r.check();
    expect(r.reachable).toBe(false);
    expect(db.wakes).toBe(1);
    db.followerError = undefined;
    await r.check();
    expect(r.reachable).toBe(true);
    expect(changes).toEqual([false, true]);
  });
});
