import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChangeFollower, type ChangeFeed, type FollowedChange } from '../../../server/replication/change-follower.ts';
import { createSqliteStore } from '../../../server/store/sqlite/index.ts';
import type { Store } from '../../../server/store/store.ts';

describe('change follower', () => {
  let store: Store;
  let follower: ChangeFollower | undefined;
  const applied: FollowedChange[] = [];
  const user = (i: number) =>
    store.users.upsert({ subject: `local:u${i}`, email: `u${i}@example.com`, displayName: `u${i}`, groups: [] }, 1);
  const follow = (feed: ChangeFeed, from = 0) => {
    follower = new ChangeFollower(
      {
        feed,
        apply: async (batch) => void applied.push(...batch),
        reload: async () => {},
        pollMs: 50,
        now: Date.now,
        logger: pino({ level: 'silent' }),
      },
      from,
    );
    follower.start();
    return follower;
  };
  const caughtUp = async () => {
    const head = await store.changes.head();
    for (let i = 0; i < 100 && follower!.appliedSeq < head; i++) await new Promise((r) => setTimeout(r, 20));
  };

  beforeEach(() => {
    store = createSqliteStore(':memory:');
    applied.length = 0;
  });
  afterEach(async () => {
    await follower?.stop();
    await store.close();
  });

  it('applies every change once, in seq order, starting after the seq it was given', async () => {
    await user(0);
    const from = await store.changes.head();
    const f = follow(store.changes, from);
    for (let i = 1; i <= 20; i++) await user(i);
    await caughtUp();
    const seqs = applied.map((c) => c.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs[0]).toBeGreaterThan(from);
    expect(f.appliedSeq).toBe(await store.changes.head());
    expect(applied.filter((c) => c.kind === 'user')).toHaveLength(20);
  });

  it('loses nothing when every hint is dropped: the poll reads from where it was', async () => {
    const f = follow({ ...store.changes, watch: () => () => {} });
    for (let i = 0; i < 5; i++) await user(i);
    await caughtUp();
    expect(f.appliedSeq).toBe(await store.changes.head());
    expect(applied.map((c) => c.kind)).toEqual(['user', 'user', 'user', 'user', 'user']);
  });

  it('says why while the log cannot be read, and catches up from the same seq once it can', async () => {
    let away = true;
    const f = follow({
      ...store.changes,
      since: async (seq, limit) => {
        if (away) throw new Error('connection refused');
        return store.changes.since(seq, limit);
      },
    });
    await user(1);
    await user(2);
    await new Promise((r) => setTimeout(r, 150));
    expect(f.error?.message).toBe('connection refused');
    expect(f.appliedSeq).toBe(0);
    away = false;
    await caughtUp();
    expect(f.error).toBeUndefined();
    expect(applied.map((c) => c.seq)).toEqual((await store.changes.since(0, 100)).map((c) => c.seq));
  });
});
