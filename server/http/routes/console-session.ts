import { z } from 'zod';
import { ConsoleProviders, ConsoleSessionView } from '../../../protocol/console.ts';
import { isoTime } from '../../../protocol/time.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { ConsoleSessions } from '../../console/console-sessions.ts';
import { ROLE_SCOPES } from '../../console/roles.ts';
import { route, type Caller, type PersonCaller, type Route } from '../route.ts';

interface ConsoleSessionDeps {
  sessions: ConsoleSessions;
  audit: AuditLog;
  /** The configured providers' names. */
  providers: readonly string[];
}

/** The console's session: who is signed in (with the CSRF token), sign-out, and where to sign in. */
export function consoleSessionRoutes(d: ConsoleSessionDeps): Route[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/console/providers',
      summary: 'The identity providers a person may sign in to the console with',
      tag: 'console',
      auth: { kind: 'public' },
      response: ConsoleProviders,
      handle: async () => ({
        items: d.providers.map((name) => ({ name, signInUrl: `/console/login?provider=${encodeURIComponent(name)}` })),
      }),
    }),
    route({
      method: 'get',
      path: '/api/v1/console/session',
      summary: 'The signed-in person, their role and scopes, and the CSRF token for changes',
      tag: 'console',
      auth: { kind: 'session' },
      response: ConsoleSessionView,
      handle: async ({ caller }) => {
        const { session, user, role } = person(caller);
        return {
          user: { id: user.id, email: user.email, displayName: user.displayName, groups: user.groups },
          role,
          scopes: [...ROLE_SCOPES[role]],
          csrfToken: session.csrfToken,
          provider: session.provider,
          signedInAt: isoTime(session.createdAt),
          expiresAt: isoTime(d.sessions.endsAt(session)),
          maxExpiresAt: isoTime(session.expiresAt),
        };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/console/session',
      summary: 'Sign out: the session ends here and on every replica, and its cookie is cleared',
      tag: 'console',
      auth: { kind: 'session' },
      body: z.strictObject({}).optional(),
      status: 204,
      handle: async ({ caller, reply, sourceIp }) => {
        const { session, user } = person(caller);
        await d.sessions.end(session);
        reply.clearCookie('session');
        await d.audit.record({
          kind: 'login',
          outcome: 'success',
          method: 'console',
          actor: user.email,
          source: sourceIp,
          code: 'console.signed_out',
          message: `${user.email} signed out of the console`,
        });
      },
    }),
  ];
}

function person(caller: Caller): PersonCaller {
  if (caller.kind !== 'person') throw new TypeError('session route without a person caller');
  return caller;
}
