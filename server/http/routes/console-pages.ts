import { randomBytes } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { ConsoleSignIn } from '../../console/console-sign-in.ts';
import { setSessionCookie } from '../../console/session-cookie.ts';
import { TrellisError } from '../../errors.ts';
import { httpStatus } from '../error-handler.ts';
import { requestClientAddress } from '../client-address.ts';
import { PAGE_HEADERS, errorPage } from '../pages/html.ts';

/** Binds a console sign-in to the browser that started it, for the provider's return only. */
const BINDING_COOKIE = 'trellis_console_signin';
const BINDING_PATH = '/login/callback';

interface ConsolePageOptions {
  secure: (c: Context) => boolean;
  limit: (sourceIp: string) => void;
  maxSessionMs: number;
  timeoutMs: number;
}

/**
 * The browser's side of a console sign-in: `GET /console/login?provider=NAME&next=/console/...`
 * redirects to the provider; its return arrives at the agents' callback (`/login/callback`),
 * which hands it here when the state is a console sign-in's.
 */
export function consoleSignInPages(signIn: ConsoleSignIn, o: ConsolePageOptions) {
  const callback = async (c: Context): Promise<Response> =>
    page(c, async () => {
      o.limit(requestClientAddress(c));
      const query = new URL(c.req.url).searchParams;
      const secure = o.secure(c);
      const done = await signIn.complete(query, getCookie(c, BINDING_COOKIE), requestClientAddress(c));
      deleteCookie(c, BINDING_COOKIE, { path: BINDING_PATH, secure });
      setSessionCookie(c, done.token, o.maxSessionMs, secure);
      return done.next;
    });
  return {
    /** For the shared callback: whether this return is a console sign-in's, and its handler. */
    callback: { owns: (state: string) => signIn.owns(state), handle: callback },
    mount(app: Hono): void {
      app.get('/console/login', (c) =>
        page(c, async () => {
          o.limit(requestClientAddress(c));
          const binding = randomBytes(24).toString('base64url');
          const target = await signIn.begin(c.req.query('provider'), c.req.query('next'), binding);
          // Lax, not Strict: the provider's return is a navigation from its site.
          setCookie(c, BINDING_COOKIE, binding, {
            path: BINDING_PATH,
            httpOnly: true,
            sameSite: 'Lax',
            secure: o.secure(c),
            maxAge: Math.floor(o.timeoutMs / 1000),
          });
          return target;
        }),
      );
    },
  };
}

/** Redirects where the handler says; a refusal is a page with its code and a way back. */
async function page(c: Context, handler: () => Promise<string>): Promise<Response> {
  try {
    const location = await handler();
    c.header('cache-control', 'no-store');
    // The callback's URL carries an authorization code: never pass it on.
    c.header('referrer-policy', 'no-referrer');
    return c.redirect(location, 302);
  } catch (err) {
    if (!(err instanceof TrellisError)) throw err;
    const title = err.kind === 'rate_limited' ? 'Too many attempts' : 'Sign-in failed';
    return c.body(
      errorPage({
        title,
        message: err.message,
        code: err.code,
        retry: { text: 'Sign in to the console again', href: '/console/' },
      }),
      httpStatus(err) as 400,
      PAGE_HEADERS,
    );
  }
}
