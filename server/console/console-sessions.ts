import { createHash, randomBytes } from 'node:crypto';
import { unauthenticated } from '../errors.ts';
import type { ConsoleSessionRecord, UserRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { PENDING_LINK } from './sign-in-links.ts';

interface SessionLimits {
  /** A session unused this long ends. */
  idleMs: number;
  /** A session ends this long after its sign-in. */
  maxMs: number;
}

/** The SHA-256 of a session token: what the store keys sessions by. */
const idOf = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Console sessions: started by a sign-in, found again from the cookie's token at every request,
 * ended by sign-out, idleness, their absolute lifetime, or their user's removal. Kept in the
 * store, so any replica finds any session.
 */
export class ConsoleSessions {
  private readonly endListeners = new Set<(sessionId: string) => void>();

  constructor(
    private readonly store: Store,
    private readonly limits: SessionLimits,
    private readonly now: () => number,
  ) {}

  get maxMs(): number {
    return this.limits.maxMs;
  }

  /** A new session for a person who just signed in; the token goes into the cookie, never into the store. */
  async start(
    user: UserRecord,
    provider: string,
    source: string,
  ): Promise<{ token: string; session: ConsoleSessionRecord }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    const session: ConsoleSessionRecord = {
      id: idOf(token),
      userId: user.id,
      csrfToken: randomBytes(32).toString('base64url'),
      provider,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.limits.maxMs,
      source,
    };
    await this.store.consoleSessions.create(session);
    return { token, session };
  }

  /** The live session and its user behind a cookie's token, recording the use; refuses one that ended. */
  async resolve(token: string): Promise<{ session: ConsoleSessionRecord; user: UserRecord }> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token))
      throw unauthenticated(
        'session.unknown',
        'the console session cookie is not one this server issued; sign in again',
      );
    const session = await this.store.consoleSessions.get(idOf(token));
    // A sign-in link not yet redeemed is in the same table, but it is no session.
    if (!session || session.provider.startsWith(PENDING_LINK))
      throw unauthenticated('session.unknown', 'the console session has ended or is not known; sign in again');
    const now = this.now();
    if (session.expiresAt <= now) {
      await this.store.consoleSessions.delete(session.id);
      throw unauthenticated('session.expired', 'the console session reached its maximum age; sign in again');
    }
    if (session.lastSeenAt + this.limits.idleMs <= now) {
      await this.store.consoleSessions.delete(session.id);
      throw unauthenticated('session.idle', 'the console session ended after a time without use; sign in again');
    }
    const user = await this.store.users.get(session.userId);
    if (!user) throw unauthenticated('session.unknown', 'the console session belongs to a user who was removed');
    // A write per request would be a write per click; a use is recorded at most every tenth of the idle time.
    if (now - session.lastSeenAt >= Math.min(60_000, this.limits.idleMs / 10)) {
      await this.store.consoleSessions.touch(session.id, now);
      session.lastSeenAt = now;
    }
    return { session, user };
  }

  /** When the session ends unless used again: the idle end or the absolute end, whichever comes first. */
  endsAt(session: ConsoleSessionRecord): number {
    return Math.min(session.expiresAt, session.lastSeenAt + this.limits.idleMs);
  }

  /** Whether a session found earlier is still live (for long-lived answers such as the event stream). */
  async stillLive(id: string): Promise<boolean> {
    const s = await this.store.consoleSessions.get(id);
    return s !== undefined && this.endsAt(s) > this.now();
  }

  async end(session: ConsoleSessionRecord): Promise<void> {
    await this.store.consoleSessions.delete(session.id);
    for (const l of this.endListeners) l(session.id);
  }

  /**
   * Calls `listener` when a session is signed out on this replica, so its long-lived answers end
   * at once; elsewhere they end at their next check (`stillLive`). Returns the unsubscribe.
   */
  onEnd(listener: (sessionId: string) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  /** Signs a user out everywhere. */
  endForUser(userId: string): Promise<number> {
    return this.store.consoleSessions.deleteForUser(userId);
  }

  /** Deletes every session that has ended; run by ConsoleSessionSweeper. */
  prune(): Promise<number> {
    const now = this.now();
    return this.store.consoleSessions.prune(now, now - this.limits.idleMs);
  }
}
