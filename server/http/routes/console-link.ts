import type { Context, Hono } from 'hono';
import { CreateSignInLink, SignInLinkView } from '../../../protocol/console.ts';
import { isoTime } from '../../../protocol/time.ts';
import type { UserService } from '../../admin/user-service.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { CONSOLE_HOME } from '../../console/console-sign-in.ts';
import { setSessionCookie } from '../../console/session-cookie.ts';
import type { SignInLinks } from '../../console/sign-in-links.ts';
import { forbidden, TrellisError } from '../../errors.ts';
import { httpStatus } from '../error-handler.ts';
import { requestClientAddress } from '../client-address.ts';
import { errorPage, FORM_PAGE_HEADERS, PAGE_HEADERS, signInLinkPage } from '../pages/html.ts';
import { route, type Route } from '../route.ts';

export const SIGN_IN_LINK_PATH = '/console/sign-in';
/** Who a link signs in when it names nobody: the quick start's administrator. */
export const DEFAULT_LINK_EMAIL = 'admin@trellis.local';

interface LinkDeps {
  links: SignInLinks;
  users: UserService;
  publicUrl: () => string;
}

/** Makes a sign-in link for a person (created as a local user when unknown). */
export async function makeSignInLink(d: LinkDeps, body: CreateSignInLink, source: string): Promise<SignInLinkView> {
  const email = (body.email ?? DEFAULT_LINK_EMAIL).toLowerCase();
  const user = (await d.users.list()).find((u) => u.email === email) ?? (await d.users.create({ email, groups: [] }));
  const { token, expiresAt } = await d.links.create(user, body.role, body.expiresInSeconds * 1000, source);
  return {
    url: `${d.publicUrl()}${SIGN_IN_LINK_PATH}?link=${token}`,
    email,
    role: body.role,
    expiresAt: isoTime(expiresAt),
  };
}

export function signInLinkRoutes(d: LinkDeps): Route[] {
  return [
    route({
      method: 'post',
      path: '/api/v1/console/sign-in-links',
      summary: 'A one-time console sign-in link for a person, with a role (no identity provider needed; shown once)',
      tag: 'console',
      auth: { kind: 'admin', scope: 'admin' },
      body: CreateSignInLink,
      response: SignInLinkView,
      status: 201,
      handle: async ({ body, sourceIp }) => makeSignInLink(d, body, sourceIp),
    }),
  ];
}

interface LinkPageOptions {
  links: SignInLinks;
  audit: AuditLog;
  secure: (c: Context) => boolean;
  limit: (sourceIp: string) => void;
  maxSessionMs: number;
}

/**
 * The browser's side: `GET /console/sign-in?link=...` shows a Sign in button (fetching the link
 * uses nothing up); its POST redeems the link, sets the session cookie and goes to the console.
 */
export function mountSignInLinkPages(app: Hono, o: LinkPageOptions): void {
  app.get(SIGN_IN_LINK_PATH, (c) =>
    c.body(signInLinkPage({ action: SIGN_IN_LINK_PATH, link: c.req.query('link') ?? '' }), 200, FORM_PAGE_HEADERS),
  );
  app.post(SIGN_IN_LINK_PATH, async (c) => {
    const source = requestClientAddress(c);
    try {
      o.limit(source);
      // Only this server's own page may post here: another site cannot sign a browser in as someone else.
      const site = c.req.header('sec-fetch-site');
      if (site !== undefined && site !== 'same-origin')
        throw forbidden('csrf.cross_site', 'a sign-in link is used from its own page on this server');
      const form = await c.req.parseBody();
      const link = typeof form.link === 'string' ? form.link : '';
      const { token, user } = await o.links.redeem(link, source).catch(async (err: unknown) => {
        await o.audit.failure({ kind: 'login', method: 'sign-in-link', source }, err, 'console sign-in link');
        throw err;
      });
      await o.audit.record({
        kind: 'login',
        outcome: 'success',
        method: 'sign-in-link',
        actor: user.email,
        source,
        code: 'console.signed_in',
        message: `${user.email} signed in to the console with a one-time link`,
      });
      setSessionCookie(c, token, o.maxSessionMs, o.secure(c));
      c.header('cache-control', 'no-store');
      return c.redirect(CONSOLE_HOME, 303);
    } catch (err) {
      if (!(err instanceof TrellisError)) throw err;
      return c.body(
        errorPage({
          title: 'Sign-in failed',
          message: err.message,
          code: err.code,
          retry: { text: 'Go to the console', href: CONSOLE_HOME },
        }),
        httpStatus(err) as 400,
        PAGE_HEADERS,
      );
    }
  });
}
