/**
 * What the agent believes about each peer's path, and the decisions that follow from WireGuard's
 * own counters. Pure (the clock is passed in), so every rule is tested without a device.
 *  - A peer starts on the relay. When its relayed session is up, carries traffic, and no attempt is due
 *    later, the agent asks the server for a trial (both sides then try direct candidates).
 *  - A failed attempt waits before the next: 10 s, 30 s, 1 min, 2 min, then every 5 min.
 *  - On a direct path WireGuard moves the endpoint to wherever the peer's packets come from:
 *    back to the relay means the peer gave up the direct path (so do we); another address
 *    means the peer roamed (we follow).
 *  - Sending without hearing anything back for a while makes a direct path suspect; the agent
 *    then probes it and falls back when the probe goes unanswered.
 *  - A peer whose candidates change (it moved, or its NAT did) may be retried at once.
 *  - A first handshake that goes unanswered is restarted after a moment, a few times.
 */
export interface PeerSample {
  endpoint?: string;
  rxBytes: number;
  txBytes: number;
  /**
   * Whether a session is up. A trial rides on it (a handshake of its own would race the one
   * in progress on the relay), so only peers with one are upgraded.
   */
  established: boolean;
}

export interface PeerPath {
  direct?: string;
  /** Last measured round trip over the current path, ms. */
  latencyMs?: number;
}

export const RETRY_DELAYS_MS = [10_000, 30_000, 60_000, 120_000, 300_000] as const;
/** A request the server did not answer with a trial within this long counts as a failed attempt. */
export const REQUEST_TIMEOUT_MS = 5_000;
/** Sending for this long without receiving makes a direct path suspect. */
export const SUSPECT_AFTER_MS = 3_000;
/**
 * A first handshake unanswered this long was most likely dropped by a peer that did not know us
 * yet (its map was a moment behind ours): start it again rather than wait out WireGuard's 5 s.
 */
export const RESTART_HANDSHAKE_AFTER_MS = 400;
/**
 * After our side of a trial found a path, the peer's side may still be probing (keeping its
 * traffic on the relay between probes) for a few slots: its relayed packets then are no sign
 * that it gave the path up, and the endpoint is pointed back at the direct path instead.
 */
export const TRIAL_GRACE_MS = 5_000;
const RESTARTS = 3;

interface Entry extends PeerPath {
  failures: number;
  nextAttemptAt: number;
  requestedAt?: number;
  trying: boolean;
  rx: number;
  tx: number;
  rxAt: number;
  txAt: number;
  candidates: string;
  graceUntil?: number;
  /** Since when we have sent without a session; how often its handshake was restarted. */
  waitingSince?: number;
  restarts: number;
}

interface TickResult {
  /** Ask the server for a trial with these peers. */
  request: string[];
  /** Probe these direct paths; fall back unless they answer. */
  suspect: string[];
  /** The chosen endpoints changed: the device must be told. */
  changed: boolean;
  /** Restart the handshake with these peers (see RESTART_HANDSHAKE_AFTER_MS). */
  restart: string[];
  /** Point these peers at their direct path again (see TRIAL_GRACE_MS). */
  repoint: string[];
}

export class PathTable {
  private readonly entries = new Map<string, Entry>();

  /**
   * One look at the device. `samples` by peer id (peers of the map only), `candidates` a
   * signature of each peer's endpoints, `relayEndpoint` where relayed peers point.
   */
  tick(
    now: number,
    samples: ReadonlyMap<string, PeerSample & { candidates: string }>,
    relayEndpoint: string,
  ): TickResult {
    const result: TickResult = { request: [], suspect: [], changed: false, restart: [], repoint: [] };
    for (const id of this.entries.keys()) if (!samples.has(id)) this.entries.delete(id);
    for (const [id, s] of samples) {
      const e = this.entry(id, now, s);
      if (s.rxBytes < e.rx || s.txBytes < e.tx) Object.assign(e, { rx: 0, tx: 0 }); // the device was recreated
      if (s.rxBytes > e.rx) Object.assign(e, { rx: s.rxBytes, rxAt: now });
      if (s.txBytes > e.tx) Object.assign(e, { tx: s.txBytes, txAt: now });
      if (s.candidates !== e.candidates) {
        e.candidates = s.candidates;
        e.failures = 0;
        e.nextAttemptAt = now;
        // Its address changed under a direct path: the old one is likely dead already.
        if (e.direct !== undefined && !e.trying) result.suspect.push(id);
      }
      if (s.established) Object.assign(e, { waitingSince: undefined, restarts: 0 });
      else if (s.txBytes === 0)
        e.waitingSince = undefined; // nothing sent: no handshake to wait for
      else if (e.waitingSince === undefined) e.waitingSince = now;
      else if (
        e.waitingSince !== undefined &&
        now - e.waitingSince >= RESTART_HANDSHAKE_AFTER_MS &&
        e.restarts < RESTARTS
      ) {
        Object.assign(e, { waitingSince: undefined, restarts: e.restarts + 1 });
        result.restart.push(id);
      }
      if (e.trying) continue;
      if (e.direct !== undefined) {
        if (s.endpoint === relayEndpoint && now < (e.graceUntil ?? -Infinity)) {
          result.repoint.push(id);
        } else if (s.endpoint === relayEndpoint) {
          this.failed(e, now);
          result.changed = true;
        } else if (s.endpoint !== undefined && s.endpoint !== e.direct) {
          e.direct = s.endpoint;
          result.changed = true;
        } else if (e.txAt - e.rxAt > SUSPECT_AFTER_MS && !result.suspect.includes(id)) {
          result.suspect.push(id);
        }
        continue;
      }
      if (e.requestedAt !== undefined && now - e.requestedAt > REQUEST_TIMEOUT_MS) this.failed(e, now);
      const active = e.rxAt === now || e.txAt === now;
      if (active && s.established && e.requestedAt === undefined && now >= e.nextAttemptAt) {
        e.requestedAt = now;
        result.request.push(id);
      }
    }
    return result;
  }

  /** Every peer's direct endpoint, by peer id (the rest go through the relay). */
  directPaths(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [id, e] of this.entries) if (e.direct !== undefined && !e.trying) out.set(id, e.direct);
    return out;
  }

  /** Peers a trial is running for, by id. */
  trials(): Set<string> {
    return new Set([...this.entries].filter(([, e]) => e.trying).map(([id]) => id));
  }

  path(id: string): PeerPath | undefined {
    const e = this.entries.get(id);
    return (
      e && {
        ...(e.direct !== undefined && { direct: e.direct }),
        ...(e.latencyMs !== undefined && { latencyMs: e.latencyMs }),
      }
    );
  }

  /**
   * A trial for this peer began: until it ends, the trial owns the peer's endpoint. The server
   * may start one before this side has looked at the peer at all (it asked for it, we did not).
   */
  trialStarted(id: string, now: number): boolean {
    const e =
      this.entries.get(id) ?? this.entry(id, now, { rxBytes: 0, txBytes: 0, established: true, candidates: '' });
    if (e.trying) return false;
    e.trying = true;
    e.requestedAt = undefined;
    return true;
  }

  trialEnded(id: string, now: number, direct: string | undefined): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.trying = false;
    if (direct === undefined) return this.failed(e, now);
    e.direct = direct;
    e.failures = 0;
    e.rxAt = now;
    e.graceUntil = now + TRIAL_GRACE_MS;
  }

  /** A probe answered: the path is alive (and, when measured, this is its latency). */
  answered(id: string, now: number, latencyMs?: number): void {
    const e = this.entries.get(id);
    if (!e) return;
    if (latencyMs !== undefined) e.latencyMs = latencyMs;
    e.rxAt = Math.max(e.rxAt, now);
  }

  /** A suspect direct path did not answer: back to the relay, and a new trial at once. */
  dead(id: string, now: number): void {
    const e = this.entries.get(id);
    if (!e || e.direct === undefined || e.trying) return;
    e.direct = undefined;
    e.latencyMs = undefined;
    e.failures = 0;
    e.nextAttemptAt = now;
  }

  private failed(e: Entry, now: number): void {
    e.direct = undefined;
    e.latencyMs = undefined;
    e.requestedAt = undefined;
    e.nextAttemptAt = now + RETRY_DELAYS_MS[Math.min(e.failures, RETRY_DELAYS_MS.length - 1)]!;
    e.failures += 1;
  }

  private entry(id: string, now: number, s: PeerSample & { candidates: string }): Entry {
    let e = this.entries.get(id);
    if (!e) {
      e = {
        failures: 0,
        nextAttemptAt: now,
        trying: false,
        rx: s.rxBytes,
        tx: s.txBytes,
        rxAt: -Infinity,
        txAt: -Infinity,
        candidates: s.candidates,
        restarts: 0,
      };
      this.entries.set(id, e);
    } else if (e.candidates === '') {
      e.candidates = s.candidates; // made by a trial before the first look: nothing changed
    }
    return e;
  }
}
