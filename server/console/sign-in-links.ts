import { createHash, randomBytes } from 'node:crypto';
import { TrellisError } from '../errors.ts';
import type { ConsoleSessionRecord, UserRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import type { ConsoleSessions } from './console-sessions.ts';
import type { Role } from './roles.ts';

/** A link not yet used: its row waits in the sessions table under this provider, never usable as a session. */
export const PENDING_LINK = 'link-pending:';
/** A session started from a link: its role is the link's, whatever the config says of the person. */
const LINK_SESSION = 'link:';

const idOf = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * One-time sign-in links: how a person reaches the console when no identity provider is
 * configured (the quick start), or an administrator lets someone in without one. A link is a
 * random 256-bit secret, kept only as its SHA-256 in the store (any replica can redeem it),
 * short-lived, and good for one sign-in: redeeming deletes it before the session starts, so two
 * redemptions racing cannot both win. It names the person and the role the session gets.
 */
export class SignInLinks {
  constructor(
    private readonly store: Store,
    private readonly sessions: ConsoleSessions,
    private readonly now: () => number,
  ) {}

  async create(
    user: UserRecord,
    role: Role,
    ttlMs: number,
    source: string,
  ): Promise<{ token: string; expiresAt: number }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    await this.store.consoleSessions.create({
      id: idOf(token),
      userId: user.id,
      csrfToken: randomBytes(32).toString('base64url'),
      provider: `${PENDING_LINK}${role}`,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + ttlMs,
      source,
    });
    return { token, expiresAt: now + ttlMs };
  }

  /** Uses the link up and starts the session it was made for. */
  async redeem(
    token: string,
    source: string,
  ): Promise<{ token: string; session: ConsoleSessionRecord; user: UserRecord }> {
    const used = () =>
      new TrellisError(
        'unauthenticated',
        'console.link_invalid',
        'this sign-in link was used already, has expired or was never issued; ask for a new one',
      );
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw used();
    const pending = await this.store.consoleSessions.get(idOf(token));
    if (!pending?.provider.startsWith(PENDING_LINK)) throw used();
    // Deleting first makes the link single-use even when two browsers race for it.
    if (!(await this.store.consoleSessions.delete(pending.id)) || pending.expiresAt <= this.now()) throw used();
    const user = await this.store.users.get(pending.userId);
    if (!user) throw used();
    const role = pending.provider.slice(PENDING_LINK.length);
    return { ...(await this.sessions.start(user, `${LINK_SESSION}${role}`, source)), user };
  }
}

/** The role a link gave a session, or undefined for a session from an identity provider. */
export function linkRole(session: ConsoleSessionRecord): Role | undefined {
  return session.provider.startsWith(LINK_SESSION) ? (session.provider.slice(LINK_SESSION.length) as Role) : undefined;
}
