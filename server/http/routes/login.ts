import { createHash, randomBytes } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { StartLoginRequest, StartLoginResponse, WaitLoginRequest, WaitLoginResponse } from '../../../protocol/login.ts';
import { TrellisError } from '../../errors.ts';
import { httpStatus } from '../error-handler.ts';
import { CALLBACK_PATH, type LoginService } from '../../identity/oidc/login-service.ts';
import { requestClientAddress } from '../client-address.ts';
import { PAGE_HEADERS, approvedPage, errorPage, handoffPage } from '../pages/html.ts';
import { route, type Caller, type Route } from '../route.ts';

/** Agent side of a sign-in: start it, then wait for the person to complete it. */
export function loginRoutes(logins: LoginService, waitMs = 25_000): Route[] {
  return [
    route({
      method: 'post',
      path: '/api/v1/machine/login',
      summary: 'Start signing a person in through the identity provider',
      tag: 'machine',
      auth: { kind: 'machine-unregistered' },
      body: StartLoginRequest,
      response: StartLoginResponse,
      handle: async ({ body, caller, sourceIp }) => logins.start(machineKeyOf(caller), body, sourceIp),
    }),
    route({
      method: 'post',
      path: '/api/v1/machine/login/wait',
      summary: 'Wait (long poll) until a started sign-in completes or fails',
      tag: 'machine',
      auth: { kind: 'machine-unregistered' },
      body: WaitLoginRequest,
      response: WaitLoginResponse,
      handle: async ({ body, caller }) => logins.wait(machineKeyOf(caller), body.loginId, waitMs),
    }),
  ];
}

/** The person's side, in a browser: hand-off page, redirect to the provider, callback. */
export function loginPages(
  logins: LoginService,
  o: {
    secureCookies: () => boolean;
    limit: (sourceIp: string) => void;
    /** The console's sign-ins come back to the same callback; it takes those whose state it owns. */
    console?: { owns(state: string): boolean; handle(c: Context): Promise<Response> };
  },
) {
  return (app: Hono): void => {
    app.get(CALLBACK_PATH, (c) => {
      if (o.console?.owns(c.req.query('state') ?? '')) return o.console.handle(c);
      return html(c, async () => {
        o.limit(requestClientAddress(c));
        const query = new URL(c.req.url).searchParams;
        const session = await logins.peekByState(query.get('state') ?? '');
        const binding = session ? getCookie(c, cookieName(session.id)) : undefined;
        const done = await logins.callback(query, binding, requestClientAddress(c));
        if (session) setCookie(c, cookieName(session.id), '', { path: '/login', maxAge: 0 });
        return { status: 200, body: approvedPage({ hostname: done.hostname, email: done.email! }) };
      });
    });
    app.get('/login/:id', (c) =>
      html(c, async () => {
        o.limit(requestClientAddress(c));
        const s = await logins.handoff(c.req.param('id'));
        return {
          status: 200,
          body: handoffPage({
            hostname: s.hostname,
            provider: s.provider,
            code: s.verificationCode,
            continueUrl: `/login/${encodeURIComponent(s.id)}/continue`,
          }),
        };
      }),
    );
    app.get('/login/:id/continue', (c) =>
      html(c, async () => {
        o.limit(requestClientAddress(c));
        const id = c.req.param('id');
        const binding = randomBytes(24).toString('base64url');
        const target = await logins.authorizationUrl(id, binding);
        setCookie(c, cookieName(id), binding, {
          path: '/login',
          httpOnly: true,
          sameSite: 'Lax',
          secure: o.secureCookies(),
          maxAge: 3600,
        });
        return { status: 302, location: target };
      }),
    );
  };
}

/** One cookie per sign-in, so two at once in one browser do not clash. */
function cookieName(loginId: string): string {
  return `trellis_login_${createHash('sha256').update(loginId).digest('hex').slice(0, 16)}`;
}

type PageResult = { status: 200; body: string } | { status: 302; location: string };

/** Runs a page handler; errors become an error page with the error's status and code. */
async function html(c: Context, handler: () => Promise<PageResult>): Promise<Response> {
  try {
    const r = await handler();
    if (r.status === 302) {
      c.header('cache-control', 'no-store');
      c.header('referrer-policy', 'no-referrer');
      return c.redirect(r.location, 302);
    }
    return c.body(r.body, 200, PAGE_HEADERS);
  } catch (err) {
    if (!(err instanceof TrellisError)) throw err;
    const title = err.kind === 'rate_limited' ? 'Too many attempts' : 'Sign-in failed';
    return c.body(errorPage({ title, message: err.message, code: err.code }), httpStatus(err) as 400, PAGE_HEADERS);
  }
}

function machineKeyOf(caller: Caller): string {
  if (caller.kind !== 'machine') throw new TypeError('machine route without a machine caller');
  return caller.machineKey;
}
