import type { Context, Hono } from 'hono';
import { scopesGrant } from '../admin/scopes.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ConsoleAuth } from '../console/console-auth.ts';
import { ROLE_SCOPES } from '../console/roles.ts';
import { clearSessionCookie, setSessionCookie } from '../console/session-cookie.ts';
import { forbidden, unauthenticated } from '../errors.ts';
import type { CallerAuth } from './caller-auth.ts';
import { requestClientAddress } from './client-address.ts';
import type { RateLimiter } from './rate-limit.ts';
import { actorOf, type Caller, type Reply, type Route, type Viewer } from './route.ts';
import { check, parseBody } from './validate.ts';

export interface MountDeps {
  auth: CallerAuth;
  authLimiter: RateLimiter;
  now: () => number;
  /** Records refused API keys and registration proofs, and every admin change. */
  audit?: AuditLog;
  /** Console sessions; without it, only API keys reach the admin routes. */
  console?: ConsoleAuth;
}

/** Wires declared routes into hono: authenticate, authorize, validate, call, answer. */
export function mountRoutes(app: Hono, routes: readonly Route[], deps: MountDeps): void {
  for (const r of routes) {
    app.on(r.method.toUpperCase(), r.path, async (c) => {
      const raw = new Uint8Array(await c.req.arrayBuffer());
      const sourceIp = requestClientAddress(c);
      const action = `${r.method.toUpperCase()} ${c.req.path}`;
      const { caller, viewer } = await authenticate(r, c, raw, sourceIp, deps).catch(async (err) => {
        if (r.auth.kind === 'admin' || r.auth.kind === 'machine-unregistered') {
          const method = r.auth.kind === 'machine-unregistered' ? 'machine-proof' : credentialOf(c);
          await deps.audit?.failure({ kind: 'auth', method, source: sourceIp }, err, action);
        }
        throw err;
      });
      const notes: string[] = [];
      const handled = async () => {
        const body = r.body ? parseBody(r.body, raw) : undefined;
        const query = r.query ? check(r.query, c.req.query(), 'query') : undefined;
        return r.handle({
          body,
          query,
          params: c.req.param() as Record<string, string>,
          caller,
          viewer,
          sourceIp,
          requestId: c.get('requestId') as string,
          signal: c.req.raw.signal,
          reply: reply(c, deps),
          auditNote: (text) => notes.push(text),
        });
      };
      // Every change an operator makes is audited, whether it worked or not, naming who made it.
      const operator = caller.kind === 'api-key' || caller.kind === 'person';
      const audited = operator && r.method !== 'get' && !r.readOnly && deps.audit;
      const who = {
        kind: 'admin' as const,
        method: caller.kind === 'person' ? 'console' : 'api-key',
        actor: operator ? actorOf(caller) : undefined,
        source: sourceIp,
      };
      const result = audited
        ? await handled().then(
            async (value) => {
              await deps.audit!.record({
                ...who,
                outcome: 'success',
                code: action,
                message: [`${r.summary}: ${action}`, ...notes].join('\n'),
              });
              return value;
            },
            async (err) => {
              await deps.audit!.failure(who, err, action);
              throw err;
            },
          )
        : await handled();
      if (result instanceof Response) return result;
      if (r.status === 204) return c.body(null, 204);
      return c.json(result as object, r.status ?? 200);
    });
  }
}

type Authenticated = { caller: Caller; viewer: Viewer };
const ALL: Viewer = { kind: 'all' };

async function authenticate(
  r: Route,
  c: Context,
  raw: Uint8Array,
  sourceIp: string,
  deps: MountDeps,
): Promise<Authenticated> {
  const header = c.req.header('authorization');
  const url = new URL(c.req.url);
  const pathWithQuery = url.pathname + url.search;
  switch (r.auth.kind) {
    case 'public':
      return { caller: { kind: 'anonymous' }, viewer: ALL };
    case 'public-limited':
      deps.authLimiter.take(sourceIp, deps.now());
      return { caller: { kind: 'anonymous' }, viewer: ALL };
    case 'admin': {
      // A request with a credential header is automation; the cookie counts only without one.
      if (header !== undefined || !deps.console?.carriesSession(c)) {
        return { caller: { kind: 'api-key', key: await deps.auth.apiKey(header, r.auth.scope) }, viewer: ALL };
      }
      const person = (await deps.console.person(c))!;
      if (scopesGrant(ROLE_SCOPES[person.role], r.auth.scope)) return { caller: person, viewer: ALL };
      if (r.auth.members === 'own') return { caller: person, viewer: { kind: 'own', userId: person.user.id } };
      throw forbidden(
        'console.role',
        `${person.user.email} (role ${person.role}) may not do this: it needs the "${r.auth.scope}" permission; ask an administrator`,
      );
    }
    case 'session': {
      const person = deps.console?.carriesSession(c) ? await deps.console.person(c) : undefined;
      if (!person)
        throw unauthenticated('session.missing', 'this endpoint needs a console session; sign in at /console/');
      return { caller: person, viewer: ALL };
    }
    case 'machine-unregistered':
      deps.authLimiter.take(sourceIp, deps.now());
      return {
        caller: { kind: 'machine', ...(await deps.auth.machine(header, c.req.method, pathWithQuery, raw)) },
        viewer: ALL,
      };
    case 'machine':
      return {
        caller: { kind: 'machine', ...(await deps.auth.registeredMachine(header, c.req.method, pathWithQuery, raw)) },
        viewer: ALL,
      };
  }
}

function credentialOf(c: Context): string {
  return c.req.header('authorization') === undefined ? 'console' : 'api-key';
}

function reply(c: Context, deps: MountDeps): Reply {
  const secure = () => deps.console?.secure(c) ?? false;
  return {
    setCookie: (_name, token, maxAgeMs) => setSessionCookie(c, token, maxAgeMs, secure()),
    clearCookie: () => clearSessionCookie(c, secure()),
  };
}
