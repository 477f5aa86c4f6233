import { describe, expect, it } from 'vitest';
import { ChangeJournal } from '../../../server/netmap/change-journal.ts';

const row = (seq: number, kind: string, id: string, at = 1_000) => ({ seq, at, kind, id });

describe('change journal: what changed in the maps after a seq', () => {
  it('names the nodes changed after the seq, by record or by presence', () => {
    const j = new ChangeJournal(10, 60_000);
    j.note(
      [row(11, 'node', 'n1'), row(12, 'presence', 'n2'), row(13, 'authority', 'ca'), row(14, 'node', 'n3')],
      1_000,
    );
    expect([...j.touchedSince(12)!].sort()).toEqual(['n3']);
    expect([...j.touchedSince(10.5)!].sort()).toEqual(['n1', 'n2', 'n3']);
    expect(j.touchedSince(14)!.size).toBe(0);
  });

  it("lets a route's stored primary pass without naming it: every resume sends the routers again", () => {
    const j = new ChangeJournal(10, 60_000);
    j.note([row(11, 'route', '10.0.0.0/24'), row(12, 'node', 'n1')], 1_000);
    expect([...j.touchedSince(10.5)!]).toEqual(['n1']);
  });

  it('cannot tell for a seq at or before the load, nor across a change that moves whole views', () => {
    const j = new ChangeJournal(10, 60_000);
    j.note([row(11, 'node', 'n1'), row(12, 'policy', 'p'), row(13, 'node', 'n2')], 1_000);
    expect(j.touchedSince(10)).toBeUndefined(); // the map may be older than this process
    expect(j.touchedSince(11)).toBeUndefined(); // the policy changed after it
    expect([...j.touchedSince(12)!]).toEqual(['n2']);
    j.note([row(14, 'user', 'u')], 1_000);
    expect(j.touchedSince(13)).toBeUndefined();
  });

  it('forgets rows past its window or its size, and everything at a reload', () => {
    const j = new ChangeJournal(0, 1_000, 3);
    j.note([row(1, 'node', 'a', 0), row(2, 'node', 'b', 500), row(3, 'node', 'c', 900)], 1_200);
    expect(j.touchedSince(1)).toBeUndefined(); // row 1 is out of the window
    expect([...j.touchedSince(2)!]).toEqual(['c']);
    j.note([row(4, 'node', 'd', 1_200), row(5, 'node', 'e', 1_200)], 1_200);
    expect(j.touchedSince(2)).toBeUndefined(); // three rows kept: 3, 4, 5
    expect([...j.touchedSince(3)!].sort()).toEqual(['d', 'e']);
    j.reset(5);
    expect(j.touchedSince(5)).toBeUndefined();
    j.note([row(6, 'node', 'f', 1_200)], 1_200);
    expect([...j.touchedSince(5.5)!]).toEqual(['f']);
  });

  it('cannot tell for a seq past the last row it noted: that map holds changes not applied here', () => {
    const j = new ChangeJournal(10, 60_000);
    expect(j.touchedSince(11)).toBeUndefined();
    j.note([row(11, 'node', 'n1')], 1_000);
    expect(j.touchedSince(11)!.size).toBe(0);
    expect(j.touchedSince(12)).toBeUndefined();
    j.reset(20);
    expect(j.touchedSince(21)).toBeUndefined();
  });
});
