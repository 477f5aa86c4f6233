import { createHash, randomBytes } from 'node:crypto';
import { isAnswerCode, type AnswerCode } from '../../error-codes.ts';
import { TrellisError } from '../../errors.ts';
import type { LoginOutcome, LoginSessionRecord } from '../../store/records.ts';
import type { Store } from '../../store/store.ts';

/** One sign-in, from the agent's start to its registration; in the store, so any replica can serve each step. */
export type LoginSession = LoginSessionRecord;

/** Kept a while after they end, so a late agent still learns how its sign-in ended. */
export const KEEP_ENDED_MS = 10 * 60_000;

/**
 * Open sign-ins over the store. Each settles once (complete or failed), on whichever replica the
 * callback or the device-flow poll reaches, and wakes whoever waits for it: at once on this
 * replica, within `pollMs` on another (a waiter re-reads the row).
 */
export class LoginSessions {
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Device-flow polls running in this process, stopped when their sign-in settles. */
  private readonly polls = new Map<string, AbortController>();
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly maxOpen = 10_000,
    private readonly pollMs = 500,
  ) {}

  async add(s: LoginSession): Promise<void> {
    if ((await this.store.loginSessions.countOpen(this.now())) >= this.maxOpen) {
      // Open sign-ins end within the login timeout, so room comes back on its own.
      throw new TrellisError('unavailable', 'login.busy', 'too many sign-ins are in progress; retry in a minute');
    }
    await this.store.loginSessions.create(s);
  }

  /** The sign-in as of now: a pending one past its time has failed. */
  async get(id: string): Promise<LoginSession | undefined> {
    const s = await this.store.loginSessions.get(id);
    if (!s || s.status !== 'pending' || s.expiresAt > this.now()) return s;
    await this.settle(s, {
      status: 'failed',
      error: { code: 'login.expired', message: 'the sign-in took too long; start again' },
    });
    return this.store.loginSessions.get(id);
  }

  async byOAuthState(state: string): Promise<LoginSession | undefined> {
    const s = await this.store.loginSessions.pendingByState(state);
    return s && this.get(s.id);
  }

  /** Ties the pending sign-in to a browser; false when it is no longer pending. */
  bindBrowser(id: string, browserBinding: string): Promise<boolean> {
    return this.store.loginSessions.bindBrowser(id, browserBinding);
  }

  /** Ends a pending sign-in; false when it had already ended (here or on another replica). */
  async settle(s: LoginSession, outcome: LoginOutcome): Promise<boolean> {
    const won = await this.store.loginSessions.settle(s.id, outcome);
    if (won) Object.assign(s, outcome);
    this.polls.get(s.id)?.abort();
    this.polls.delete(s.id);
    this.wake(s.id);
    return won;
  }

  /** The completed sign-in becomes used by the machine that started it; false when another use won. */
  consume(id: string, machineKey: string): Promise<boolean> {
    return this.store.loginSessions.consume(id, machineKey);
  }

  /** A device-flow poll of this process for `id`: aborted when the sign-in settles or the server stops. */
  track(id: string): AbortSignal {
    const abort = new AbortController();
    this.polls.set(id, abort);
    return abort.signal;
  }

  /** Resolves with the sign-in once it has settled, or as it is after `ms`. */
  async wait(s: LoginSession, ms: number): Promise<LoginSession> {
    const until = Math.min(this.now() + ms, s.expiresAt);
    let current: LoginSession | undefined = s;
    while (current?.status === 'pending' && !this.closed) {
      const left = until - this.now();
      if (left <= 0) break;
      await this.nap(s.id, Math.min(left, this.pollMs));
      current = await this.get(s.id);
    }
    return current ?? s;
  }

  close(): void {
    this.closed = true;
    for (const abort of this.polls.values()) abort.abort();
    this.polls.clear();
    for (const id of [...this.waiters.keys()]) this.wake(id);
  }

  /** Sleeps `ms`, or less if the sign-in settles in this process. */
  private nap(id: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      set.add(done);
    });
  }

  private wake(id: string): void {
    for (const done of [...(this.waiters.get(id) ?? [])]) done();
  }
}

/** The error a failed sign-in recorded, as an answer code. */
export function failureCode(s: LoginSession): AnswerCode {
  const code = s.error?.code;
  return code !== undefined && isAnswerCode(code) ? code : 'login.failed';
}

export const randomId = () => randomBytes(32).toString('base64url');

/** A short code derived from the login id, shown both by the agent and on the sign-in page. */
export function verificationCode(loginId: string): string {
  const hex = createHash('sha256').update(loginId).digest('hex').slice(0, 8).toUpperCase();
  return `${hex.slice(0, 4)}-${hex.slice(4)}`;
}
