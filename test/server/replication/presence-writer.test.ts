import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { PresenceWriter } from '../../../server/replication/presence-writer.ts';
import { StoreUnavailable, type PresenceWrite } from '../../../server/store/store.ts';

/** An engine whose streams the test opens and closes, and a presence table that fails as `refuse` says. */
function writerFor(refuse: (batch: readonly PresenceWrite[]) => Error | undefined = () => undefined) {
  const streams = new Set<string>();
  const listeners: Array<(id: string) => void> = [];
  const written: PresenceWrite[][] = [];
  const writer = new PresenceWriter({
    presence: {
      async write(batch) {
        const err = refuse(batch);
        if (err) throw err;
        written.push([...batch]);
      },
    },
    engine: {
      hasStream: (id) => streams.has(id),
      node: (id) => (streams.has(id) ? ({ id } as never) : undefined),
      onStreamPresence: (l) => void listeners.push(l),
      isRouter: () => false,
    },
    selfId: 'r1',
    retryMs: 20,
    now: () => 1_000,
    logger: pino({ level: 'silent' }),
  });
  const opened = (id: string) => {
    streams.add(id);
    for (const l of listeners) l(id);
  };
  const closed = (id: string) => {
    streams.delete(id);
    for (const l of listeners) l(id);
  };
  const nodesWritten = () => written.flat().map((w) => (w.kind === 'set' ? w.record.nodeId : `-${w.nodeId}`));
  return { writer, opened, closed, written, nodesWritten };
}

describe('the presence writer', () => {
  it('writes the streams that open together in one batch, and a closed stream as a cleared row', async () => {
    const w = writerFor();
    for (const id of ['a', 'b', 'c']) w.opened(id);
    await w.writer.flush();
    w.closed('b');
    await w.writer.flush();
    expect(w.written.map((batch) => batch.length)).toEqual([1, 2, 1]);
    expect(w.nodesWritten()).toEqual(['a', 'b', 'c', '-b']);
    expect(w.writer.backlog).toBe(0);
  });

  it('keeps every node pending while the database is away, and writes their latest state once it is back', async () => {
    let away = true;
    const w = writerFor(() => (away ? new StoreUnavailable() : undefined));
    w.opened('a');
    w.opened('b');
    await w.writer.flush();
    expect(w.writer.backlog).toBe(2);
    w.closed('a');
    away = false;
    await new Promise((r) => setTimeout(r, 100));
    expect(w.writer.backlog).toBe(0);
    expect(w.nodesWritten().sort()).toEqual(['-a', 'b']);
  });

  it("drops a row the database refuses outright, and still writes the rest of that row's batch", async () => {
    const refused = (batch: readonly PresenceWrite[]) =>
      batch.some((e) => e.kind === 'set' && e.record.nodeId === 'bad') ? new Error('value out of range') : undefined;
    const live = writerFor(refused);
    for (const id of ['a', 'bad', 'c']) live.opened(id);
    await live.writer.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(live.nodesWritten().sort()).toEqual(['a', 'c']);
    expect(live.writer.backlog, 'nothing left to retry for ever').toBe(0);
    // Later changes of the other nodes go on being written.
    live.closed('c');
    await live.writer.flush();
    expect(live.nodesWritten()).toContain('-c');
  });
});
