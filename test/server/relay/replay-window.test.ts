import { describe, expect, it } from 'vitest';
import { ReplayWindow, WINDOW_SIZE } from '../../../server/relay/replay-window.ts';

describe('the transport replay window', () => {
  it('takes each counter once, in any order within the window', () => {
    const w = new ReplayWindow();
    for (const c of [0, 2, 1, 5, 3]) expect(w.accept(c), `counter ${c}`).toBe(true);
    for (const c of [0, 1, 2, 3, 5]) expect(w.accept(c), `counter ${c} again`).toBe(false);
    expect(w.accept(4)).toBe(true);
  });

  it('refuses counters that fell behind the window, and takes the oldest one still inside', () => {
    const w = new ReplayWindow();
    w.accept(0);
    w.accept(WINDOW_SIZE + 100);
    expect(w.check(100)).toBe(false);
    expect(w.check(101)).toBe(true);
    expect(w.accept(101)).toBe(true);
  });

  it('forgets bits it slid past: a jump far ahead leaves no stale marks for new counters', () => {
    const w = new ReplayWindow();
    for (let c = 0; c < 64; c++) w.accept(c);
    const far = 10 * WINDOW_SIZE;
    expect(w.accept(far)).toBe(true);
    for (let c = far - 40; c < far; c++) expect(w.accept(c), `counter ${c}`).toBe(true);
  });

  it('check does not mark: only accept does', () => {
    const w = new ReplayWindow();
    expect(w.check(7)).toBe(true);
    expect(w.check(7)).toBe(true);
    expect(w.accept(7)).toBe(true);
    expect(w.check(7)).toBe(false);
  });

  it('refuses negative and unsafe counters', () => {
    const w = new ReplayWindow();
    expect(w.check(-1)).toBe(false);
    expect(w.check(2 ** 53)).toBe(false);
  });
});
