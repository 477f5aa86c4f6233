import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChangeFollower, type FollowedChange } from '../../../server/replication/change-follower.ts';
import { ChangeLogPruner } from '../../../server/replication/change-log-pruner.ts';
import type { ReplicaEntry } from '../../../server/replication/replica-directory.ts';
import { createSqliteStore } from '../../../server/store/sqlite/index.ts';
import type { Store } from '../../../server/store/store.ts';

const HOUR = 3_600_000;
const logger = pino({ level: 'silent' });

describe('change-log pruning', () => {
  let store: Store;
  const replica = (id: string, appliedSeq: number, alive = true): ReplicaEntry => ({
    id,
    advertise: `http://${id}`,
    startedAt: 0,
    heartbeatAt: 0,
    appliedSeq,
    connected: 0,
    leading: false,
    alive,
  });
  /** Five changes, a few ms apart (rows are pruned by the time they were written). */
  const fiveChanges = async () => {
    for (let i = 1; i <= 5; i++) {
      await store.users.upsert({ subject: `local:u${i}`, email: `u${i}@x.test`, displayName: `u${i}`, groups: [] }, 1);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const pruner = (replicas: ReplicaEntry[], now: number) =>
    new ChangeLogPruner({
      changes: store.changes,
      replicas: () => replicas,
      retentionHours: 24,
      everyMs: 60_000,
      now: () => now,
      logger,
    });
  const seqs = async () => (await store.changes.since(0, 100)).map((c) => c.seq);

  beforeEach(() => {
    store = createSqliteStore(':memory:');
  });
  afterEach(async () => {
    await store.close();
  });

  it('keeps changes younger than the retention', async () => {
    await fiveChanges();
    expect(await pruner([], Date.now() + 23 * HOUR).prune()).toBe(0);
    expect(await seqs()).toEqual([1, 2, 3, 4, 5]);
  });

  it('deletes old changes, but none the slowest live replica has yet to apply; dead replicas do not hold it back', async () => {
    await fiveChanges();
    const replicas = [replica('fast', 5), replica('slow', 3), replica('dead', 1, false)];
    expect(await pruner(replicas, Date.now() + 25 * HOUR).prune()).toBe(3);
    expect(await seqs()).toEqual([4, 5]);
    expect(await store.changes.horizon()).toBe(3);
  });

  it('always keeps the newest change, so the head is never lost', async () => {
    await fiveChanges();
    await pruner([replica('a', 5)], Date.now() + 25 * HOUR).prune();
    expect(await seqs()).toEqual([5]);
    expect(await store.changes.head()).toBe(5);
  });

  it('a replica whose seq fell before the oldest kept change reloads everything instead of replaying', async () => {
    await fiveChanges();
    await pruner([replica('a', 4)], Date.now() + 25 * HOUR).prune();
    expect(await seqs()).toEqual([5]);
    const applied: FollowedChange[] = [];
    let reloads = 0;
    const follower = new ChangeFollower(
      {
        feed: store.changes,
        apply: async (batch) => void applied.push(...batch),
        reload: async () => void reloads++,
        pollMs: 60_000,
        now: Date.now,
        logger,
      },
      2,
    );
    await follower.wake();
    expect(reloads).toBe(1);
    expect(applied).toEqual([]);
    expect(follower.appliedSeq).toBe(5);
    await follower.stop();
  });
});
