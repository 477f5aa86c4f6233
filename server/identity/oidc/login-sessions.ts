import { createHash, randomBytes } from 'node:crypto';
import type { AnswerCode } from '../../error-codes.ts';
import { TrellisError } from '../../errors.ts';

/** One sign-in, from the agent's start to its registration. Server memory only. */
export interface LoginSession {
  id: string;
  machineKey: string;
  hostname: string;
  provider: string;
  mode: 'browser' | 'device';
  /** Browser flow: bound to the authorization request (RFC 6749 state, OIDC nonce, PKCE). */
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Set when a browser continues to the provider; the callback must come from that browser. */
  browserBinding?: string;
  createdAt: number;
  expiresAt: number;
  status: 'pending' | 'complete' | 'failed' | 'used';
  userId?: string;
  email?: string;
  /** What the provider proved, for the node's record. */
  proof?: { issuer: string; subject: string };
  error?: { code: AnswerCode; message: string };
  /** Stops a device-flow poll. */
  abort?: AbortController;
}

/**
 * Open sign-ins, by id and by OAuth state. Each settles once (complete or failed) and wakes
 * whoever waits for it; finished and expired ones are swept.
 */
export class LoginSessions {
  private readonly byId = new Map<string, LoginSession>();
  private readonly byState = new Map<string, LoginSession>();
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly now: () => number,
    private readonly maxOpen = 10_000,
  ) {}

  add(s: LoginSession): void {
    this.sweep();
    if (this.byId.size >= this.maxOpen) {
      // Open sign-ins end within the login timeout, so room comes back on its own.
      throw new TrellisError('unavailable', 'login.busy', 'too many sign-ins are in progress; retry in a minute');
    }
    this.byId.set(s.id, s);
    this.byState.set(s.state, s);
  }

  get(id: string): LoginSession | undefined {
    const s = this.byId.get(id);
    if (s && s.status === 'pending' && s.expiresAt <= this.now()) {
      this.settle(s, {
        status: 'failed',
        error: { code: 'login.expired', message: 'the sign-in took too long; start again' },
      });
    }
    return s;
  }

  byOAuthState(state: string): LoginSession | undefined {
    const s = this.byState.get(state);
    return s && this.get(s.id);
  }

  settle(
    s: LoginSession,
    outcome: Pick<LoginSession, 'status'> & Partial<Pick<LoginSession, 'userId' | 'email' | 'proof' | 'error'>>,
  ): void {
    Object.assign(s, outcome);
    // A state is good for one callback only.
    this.byState.delete(s.state);
    s.abort?.abort();
    for (const wake of this.waiters.get(s.id) ?? []) wake();
    this.waiters.delete(s.id);
  }

  /** Resolves when the session settles or after `ms`. */
  wait(s: LoginSession, ms: number): Promise<void> {
    if (s.status !== 'pending') return Promise.resolve();
    return new Promise((resolve) => {
      const set = this.waiters.get(s.id) ?? new Set();
      this.waiters.set(s.id, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(ms, s.expiresAt - this.now())));
      set.add(done);
    });
  }

  close(): void {
    for (const s of this.byId.values()) s.abort?.abort();
    for (const set of this.waiters.values()) for (const wake of set) wake();
    this.byId.clear();
    this.byState.clear();
  }

  private sweep(): void {
    const now = this.now();
    // Kept a while after they end, so a late agent still learns how its sign-in ended.
    for (const [id, s] of this.byId) {
      if (s.expiresAt + 10 * 60_000 > now) continue;
      this.byId.delete(id);
      this.byState.delete(s.state);
    }
  }
}

export const randomId = () => randomBytes(32).toString('base64url');

/** A short code derived from the login id, shown both by the agent and on the sign-in page. */
export function verificationCode(loginId: string): string {
  const hex = createHash('sha256').update(loginId).digest('hex').slice(0, 8).toUpperCase();
  return `${hex.slice(0, 4)}-${hex.slice(4)}`;
}
