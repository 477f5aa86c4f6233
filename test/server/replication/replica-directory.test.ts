import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReplicaDirectory } from '../../../server/replication/replica-directory.ts';
import { createSqliteStore } from '../../../server/store/sqlite/index.ts';
import type { Store } from '../../../server/store/store.ts';

describe('replica directory', () => {
  let store: Store;
  let clock = 1_800_000_000_000;
  const now = () => clock;
  const directories: ReplicaDirectory[] = [];
  const directory = (id: string, holds: Record<string, string> = {}) => {
    const d = new ReplicaDirectory({
      replicas: store.replicas,
      id,
      advertise: () => `http://${id}.internal:8080`,
      holderOf: (nodeId) => holds[nodeId],
      status: () => ({ appliedSeq: 42, connected: Object.keys(holds).length, leading: false }),
      heartbeatMs: 1000,
      deadAfterMs: 5000,
      now,
      logger: pino({ level: 'silent' }),
    });
    directories.push(d);
    return d;
  };

  beforeEach(() => {
    store = createSqliteStore(':memory:');
  });
  afterEach(async () => {
    for (const d of directories.splice(0)) await d.stop();
    await store.close();
  });

  it('lists every replica on the store with its advertised URL, last heartbeat and status', async () => {
    const a = directory('a', { n1: 'a' });
    const b = directory('b');
    await a.start();
    await b.start();
    await a.beat();
    expect(a.list().map((r) => [r.id, r.advertise, r.alive, r.connected, r.appliedSeq])).toEqual([
      ['a', 'http://a.internal:8080', true, 1, 42],
      ['b', 'http://b.internal:8080', true, 0, 42],
    ]);
    expect(a.others().map((r) => r.id)).toEqual(['b']);
    expect(a.self.id).toBe('a');
  });

  it('says which replica holds a node stream, and nothing for a node no replica holds', async () => {
    const a = directory('a', { n1: 'a', n2: 'b' });
    await directory('b').start();
    await a.start();
    expect(a.holderOf('n2')?.advertise).toBe('http://b.internal:8080');
    expect(a.holderOf('n1')?.id).toBe('a');
    expect(a.holderOf('n3')).toBeUndefined();
  });

  it('takes a replica silent past deadAfterMs for dead, and one that stopped out of the table', async () => {
    const a = directory('a');
    const b = directory('b');
    const c = directory('c');
    await b.start();
    await c.start();
    await a.start();
    clock += 4000;
    await a.beat();
    expect(a.others().map((r) => r.id)).toEqual(['b', 'c']);
    clock += 2000; // b and c last beat 6 s ago; their timers (1 s) are not driven by this clock
    await c.beat();
    await a.beat();
    expect(a.list().map((r) => [r.id, r.alive])).toEqual([
      ['a', true],
      ['b', false],
      ['c', true],
    ]);
    await c.stop();
    await a.beat();
    expect(a.list().map((r) => r.id)).toEqual(['a', 'b']);
  });

  it('announces the relay link address once it is set', async () => {
    const a = directory('a');
    await a.start();
    expect(a.self.relayAddress).toBeUndefined();
    a.setRelayAddress('10.1.2.3:3490');
    await a.beat();
    expect((await store.replicas.list())[0]?.relayAddress).toBe('10.1.2.3:3490');
  });

  it('keeps the last list when the store cannot be written, and never throws from a heartbeat', async () => {
    const a = directory('a');
    await a.start();
    await store.close();
    await expect(a.beat()).resolves.toBeUndefined();
    expect(a.list().map((r) => r.id)).toEqual(['a']);
    store = createSqliteStore(':memory:'); // for afterEach
  });
});
