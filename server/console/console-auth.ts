import type { Context } from 'hono';
import type { ConsoleConfig } from '../config/console-schema.ts';
import { ownOrigins, requestIsHttps, type SchemeOptions } from '../http/request-scheme.ts';
import type { PersonCaller } from '../http/route.ts';
import { checkCsrf } from './csrf.ts';
import type { ConsoleSessions } from './console-sessions.ts';
import { roleOf } from './roles.ts';
import { linkRole } from './sign-in-links.ts';
import { hasSessionCookie, readSessionCookie } from './session-cookie.ts';

/** Finds the person behind a request's console session cookie, with their role as of now. */
export class ConsoleAuth {
  constructor(
    readonly sessions: ConsoleSessions,
    private readonly roles: ConsoleConfig['roles'],
    private readonly scheme: SchemeOptions,
  ) {}

  /** Whether the request carries a session cookie at all (else it is not a console request). */
  carriesSession(c: Context): boolean {
    return hasSessionCookie(c);
  }

  secure(c: Context): boolean {
    return requestIsHttps(c, this.scheme);
  }

  /** The signed-in person; refuses an ended session, and a change without its CSRF proof. */
  async person(c: Context): Promise<PersonCaller | undefined> {
    const token = readSessionCookie(c, this.secure(c));
    if (token === undefined) return undefined;
    const { session, user } = await this.sessions.resolve(token);
    checkCsrf(c, session.csrfToken, ownOrigins(c, this.scheme));
    return { kind: 'person', session, user, role: linkRole(session) ?? roleOf(user, this.roles) };
  }
}
