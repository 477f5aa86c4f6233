import { describe, expect, it } from 'vitest';
import {
  PathTable,
  REQUEST_TIMEOUT_MS,
  RESTART_HANDSHAKE_AFTER_MS,
  RETRY_DELAYS_MS,
  SUSPECT_AFTER_MS,
  TRIAL_GRACE_MS,
  type PeerSample,
} from '../../../client/paths/path-table.ts';

const RELAY = '203.0.113.5:3478';
const DIRECT = '198.51.100.2:41641';

/** One peer `p` whose counters the test moves; `tick` samples it as the device would. */
function peer() {
  const table = new PathTable();
  const s: PeerSample & { candidates: string } = {
    endpoint: RELAY,
    rxBytes: 0,
    txBytes: 0,
    established: true,
    candidates: 'c1',
  };
  const tick = (now: number, change: Partial<typeof s> = {}) => {
    Object.assign(s, change);
    return table.tick(now, new Map([['p', { ...s }]]), RELAY);
  };
  const traffic = () => ({ rxBytes: s.rxBytes + 100, txBytes: s.txBytes + 100 });
  return { table, tick, traffic, s };
}

describe('path table: when to try a direct path, and when to give one up', () => {
  it('asks for a trial once a relayed peer with a session carries traffic, and not again while one is pending', () => {
    const { tick, traffic } = peer();
    expect(tick(0).request).toEqual([]); // first look: nothing moved yet
    expect(tick(1_000).request).toEqual([]); // idle
    expect(tick(2_000, traffic()).request).toEqual(['p']);
    expect(tick(3_000, traffic()).request).toEqual([]);
  });

  it('does not upgrade a peer whose first handshake is still in progress', () => {
    const { tick, traffic } = peer();
    tick(0, { established: false });
    expect(tick(1_000, { ...traffic(), established: false }).request).toEqual([]);
    expect(tick(2_000, { ...traffic(), established: true }).request).toEqual(['p']);
  });

  it('keeps a peer direct after a trial found a path, and names it for reconfig', () => {
    const { table, tick, traffic } = peer();
    tick(0);
    tick(1_000, traffic());
    expect(table.trialStarted('p', 0)).toBe(true);
    expect(table.trialStarted('p', 0)).toBe(false); // one trial at a time
    expect(table.directPaths().size).toBe(0); // the trial owns the endpoint meanwhile
    table.trialEnded('p', 1_500, DIRECT);
    expect(table.directPaths()).toEqual(new Map([['p', DIRECT]]));
    expect(tick(2_000, { ...traffic(), endpoint: DIRECT })).toEqual({
      request: [],
      suspect: [],
      changed: false,
      restart: [],
      repoint: [],
    });
  });

  it('backs off after failed attempts: 10 s, 30 s, 1 min, 2 min, then every 5 min', () => {
    const { table, tick, traffic } = peer();
    tick(0);
    let now = 0;
    const waits: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      // Traffic every second until the table asks again.
      const asked = now;
      for (;;) {
        now += 1_000;
        if (tick(now, traffic()).request.includes('p')) break;
      }
      if (attempt > 0) waits.push(now - asked);
      table.trialStarted('p', 0);
      table.trialEnded('p', now, undefined);
    }
    expect(waits).toEqual([...RETRY_DELAYS_MS]);
    expect(RETRY_DELAYS_MS).toEqual([10_000, 30_000, 60_000, 120_000, 300_000]);
  });

  it('counts a request the server never answered as a failed attempt', () => {
    const { tick, traffic } = peer();
    tick(0);
    expect(tick(1_000, traffic()).request).toEqual(['p']);
    expect(tick(1_000 + REQUEST_TIMEOUT_MS + 1, traffic()).request).toEqual([]);
    expect(tick(1_000 + REQUEST_TIMEOUT_MS + RETRY_DELAYS_MS[0] + 2, traffic()).request).toEqual(['p']);
  });

  it("follows WireGuard: back to the relay when the peer's packets come through it, to a new address when it roamed", () => {
    const { table, tick, traffic } = peer();
    tick(0);
    table.trialStarted('p', 0);
    table.trialEnded('p', 0, DIRECT);
    // Right after the trial the peer may still be probing from the relay: point back, do not give up.
    expect(tick(TRIAL_GRACE_MS - 1_000, { ...traffic(), endpoint: RELAY })).toMatchObject({
      repoint: ['p'],
      changed: false,
    });
    expect(table.path('p')).toEqual({ direct: DIRECT });
    expect(tick(TRIAL_GRACE_MS + 1_000, { ...traffic(), endpoint: '198.51.100.9:1234' }).changed).toBe(true);
    expect(table.path('p')).toEqual({ direct: '198.51.100.9:1234' });
    expect(tick(TRIAL_GRACE_MS + 2_000, { ...traffic(), endpoint: RELAY }).changed).toBe(true);
    expect(table.directPaths().size).toBe(0);
    // The peer gave the path up: that counts as a failure, so no new trial right away.
    expect(tick(TRIAL_GRACE_MS + 3_000, traffic()).request).toEqual([]);
  });

  it('suspects a direct path that only sends, and takes it back to the relay (for a new trial at once) when it is dead', () => {
    const { table, tick, s } = peer();
    tick(0);
    table.trialStarted('p', 0);
    table.trialEnded('p', 0, DIRECT);
    let suspect: string[] = [];
    for (let now = 1_000; now <= SUSPECT_AFTER_MS + 2_000 && suspect.length === 0; now += 1_000) {
      suspect = tick(now, { endpoint: DIRECT, txBytes: s.txBytes + 100 }).suspect;
    }
    expect(suspect).toEqual(['p']);
    table.answered('p', SUSPECT_AFTER_MS + 2_000, 4.2); // a probe got through after all
    expect(table.path('p')).toEqual({ direct: DIRECT, latencyMs: 4.2 });
    table.dead('p', 10_000);
    expect(table.directPaths().size).toBe(0);
    expect(tick(11_000, { endpoint: RELAY, rxBytes: s.rxBytes + 1, txBytes: s.txBytes + 1 }).request).toEqual(['p']);
  });

  it("retries at once, and suspects the direct path, when the peer's candidates change (it moved)", () => {
    const { table, tick, traffic } = peer();
    tick(0);
    tick(1_000, traffic());
    table.trialStarted('p', 0);
    table.trialEnded('p', 1_000, undefined); // failed: the next try is 10 s away
    expect(tick(2_000, traffic()).request).toEqual([]);
    expect(tick(3_000, { ...traffic(), candidates: 'c2' }).request).toEqual(['p']);
    table.trialStarted('p', 0);
    table.trialEnded('p', 3_100, DIRECT);
    expect(tick(4_000, { ...traffic(), endpoint: DIRECT, candidates: 'c3' }).suspect).toEqual(['p']);
  });

  it('lets a trial the server started run before this side has looked at the peer, and counts its result', () => {
    const table = new PathTable();
    expect(table.trialStarted('q', 0)).toBe(true);
    table.trialEnded('q', 100, DIRECT);
    expect(table.directPaths()).toEqual(new Map([['q', DIRECT]]));
    // The first look sees the peer's candidates for the first time: not a change, nothing suspect.
    const first = table.tick(
      1_000,
      new Map([['q', { endpoint: DIRECT, rxBytes: 5, txBytes: 5, established: true, candidates: 'c1' }]]),
      RELAY,
    );
    expect(first).toEqual({ request: [], suspect: [], changed: false, restart: [], repoint: [] });
  });

  it('restarts a first handshake that went unanswered (the peer did not know us yet), a few times at most', () => {
    const { tick, s } = peer();
    tick(0, { established: false });
    const sends = (now: number) => tick(now, { established: false, txBytes: s.txBytes + 148 }).restart;
    expect(sends(250)).toEqual([]); // an initiation left: waiting from here
    expect(sends(500)).toEqual([]);
    expect(sends(250 + RESTART_HANDSHAKE_AFTER_MS)).toEqual(['p']);
    const later: string[][] = [];
    for (let now = 1_000; now < 10_000; now += 250) later.push(sends(now));
    expect(later.flat()).toEqual(['p', 'p']); // three restarts in all, then WireGuard's own retries
    // Once a session is up, the count starts over.
    tick(10_000, { established: true });
    expect(sends(10_250)).toEqual([]);
  });

  it('leaves a peer alone that has sent nothing, or whose session is up', () => {
    const { tick, traffic } = peer();
    tick(0, { established: false });
    for (let now = 250; now < 3_000; now += 250) expect(tick(now, { established: false }).restart).toEqual([]);
    for (let now = 3_000; now < 6_000; now += 250)
      expect(tick(now, { ...traffic(), established: true }).restart).toEqual([]);
  });

  it('forgets peers that left the map', () => {
    const { table } = peer();
    table.tick(
      0,
      new Map([['p', { endpoint: RELAY, rxBytes: 0, txBytes: 0, established: true, candidates: '' }]]),
      RELAY,
    );
    table.trialStarted('p', 0);
    table.trialEnded('p', 0, DIRECT);
    table.tick(1_000, new Map(), RELAY);
    expect(table.directPaths().size).toBe(0);
    expect(table.path('p')).toBeUndefined();
  });
});
