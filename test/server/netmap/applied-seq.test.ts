import { describe, expect, it } from 'vitest';
import { AppliedSeq } from '../../../server/netmap/applied-seq.ts';

const row = (seq: number, kind = 'node', id = `n${seq}`) => ({ seq, at: 1_000, kind, id });

/** An AppliedSeq at `start`, with every advance it reports. */
function position(start: number | undefined) {
  const advances: Array<[number, string[]]> = [];
  const p = new AppliedSeq(
    start,
    60_000,
    () => 1_000,
    (seq, changes) => advances.push([seq, changes.map((c) => `${c.kind}:${c.id}`)]),
  );
  return { p, advances };
}

describe('applied seq: which change the maps reflect exactly', () => {
  it('moves with the batches the follower applies, never back', () => {
    const { p, advances } = position(10);
    p.applied([row(11), row(12)], 12);
    expect(p.current).toBe(12);
    p.applied([], 11);
    expect(p.current).toBe(12);
    expect(advances[0]).toEqual([12, ['node:n11', 'node:n12']]);
  });

  it("takes this replica's own write at once when every change before it is applied", () => {
    const { p, advances } = position(10);
    p.ownWrite('policy', '2', 11);
    expect(p.current).toBe(11);
    expect(advances).toEqual([[11, ['policy:2']]]);
    // A resume from before it must see the policy: it is in the journal.
    expect(p.journal.touchedSince(10.5)).toBeUndefined();
    // Read back from the log later, it changes nothing.
    p.applied([row(11, 'policy', '2')], 11);
    expect(p.current).toBe(11);
  });

  it('holds an own write behind a change not yet applied, and takes it when that one is', () => {
    const { p } = position(10);
    p.ownWrite('policy', '2', 12); // 11: another replica's change, not read yet
    expect(p.current).toBe(10);
    p.applied([row(11)], 11);
    expect(p.current).toBe(12);
    expect(p.journal.touchedSince(11)).toBeUndefined(); // the policy after 11
  });

  it('never passes a gap: an own write after a seq it has not seen stays behind until the log passes it', () => {
    const { p } = position(10);
    p.ownWrite('node', 'a', 13);
    p.applied([row(11)], 11);
    expect(p.current).toBe(11); // 12 is missing (rolled back, or not read yet)
    p.applied([row(13, 'node', 'a')], 13);
    expect(p.current).toBe(13);
    p.ownWrite('node', 'b', 13); // already passed: nothing
    expect(p.current).toBe(13);
  });

  it('ignores own writes without a log (no seq to name)', () => {
    const { p, advances } = position(undefined);
    p.ownWrite('policy', '2', 1);
    expect(p.current).toBeUndefined();
    expect(advances).toEqual([]);
    expect(p.reached(5, 10)).toBeUndefined();
  });

  it('tells a waiter when the maps reach its seq, or lets it go after the timeout', async () => {
    const { p } = position(10);
    expect(p.reached(10, 1_000)).toBeUndefined();
    let reached = false;
    const waiting = p.reached(12, 60_000)!.then(() => (reached = true));
    p.applied([row(11)], 11);
    await Promise.resolve();
    expect(reached).toBe(false);
    p.ownWrite('user', 'u', 12);
    await waiting;
    expect(reached).toBe(true);
    await p.reached(20, 20); // never reached: resolves all the same
    expect(p.current).toBe(12);
  });
});
