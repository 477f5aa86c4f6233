import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from '../../../server/netmap/heartbeat.ts';

describe('a map stream heartbeat', () => {
  let pings: number;
  let deaths: number;
  let beat: Heartbeat;

  beforeEach(() => {
    vi.useFakeTimers();
    pings = 0;
    deaths = 0;
    beat = new Heartbeat(
      () => 100,
      () => Date.now(),
      { ping: () => pings++, dead: () => deaths++ },
    );
    beat.start();
  });
  afterEach(() => {
    beat.stop();
    vi.useRealTimers();
  });

  it('pings every interval and declares a peer dead after three intervals of silence', () => {
    vi.advanceTimersByTime(300);
    expect({ pings, deaths }).toEqual({ pings: 3, deaths: 0 });
    vi.advanceTimersByTime(100);
    // The verdict waits for the sockets to be read (setImmediate, after the reads).
    expect(deaths).toBe(0);
    vi.advanceTimersByTime(1);
    expect(deaths).toBe(1);
    vi.advanceTimersByTime(1000);
    expect({ pings, deaths }).toEqual({ pings: 3, deaths: 1 });
  });

  it('keeps a peer whose answer is read in the turn its silence was judged (a slow process, not a dead peer)', () => {
    vi.advanceTimersByTime(400);
    beat.heard(); // the pong read from the socket after the timer fired, before the verdict
    vi.advanceTimersByTime(1);
    expect(deaths).toBe(0);
    vi.advanceTimersByTime(100);
    expect(pings).toBe(5);
  });

  it('keeps a peer that answers alive', () => {
    for (let i = 0; i < 20; i++) {
      vi.advanceTimersByTime(100);
      beat.heard();
    }
    expect({ pings, deaths }).toEqual({ pings: 20, deaths: 0 });
  });

  it('does not judge silence on a beat that fired late because this process stalled', () => {
    vi.advanceTimersByTime(50);
    beat.heard();
    // The clock jumps a second while no timer runs: the process was stalled, the peer's answer is unread.
    vi.setSystemTime(Date.now() + 1000);
    vi.advanceTimersByTime(50);
    expect(deaths).toBe(0);
    beat.heard();
    vi.advanceTimersByTime(300);
    expect(deaths).toBe(0);
  });

  it('still declares a peer dead that stays silent after the stall', () => {
    vi.setSystemTime(Date.now() + 1000);
    vi.advanceTimersByTime(100);
    expect(deaths).toBe(0);
    vi.advanceTimersByTime(400);
    expect(deaths).toBe(1);
  });
});
