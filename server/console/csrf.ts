import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { forbidden } from '../errors.ts';

/** The header the console sends its session's CSRF token in (from GET /api/v1/console/session). */
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A change made with a session cookie must come from the console's own pages: the browser says
 * the request is same-origin (Sec-Fetch-Site, Origin) and it carries the session's token, which
 * another site's page cannot read. SameSite=Strict already keeps the cookie off other sites'
 * requests; these checks hold even where a browser does not. API keys need none of this: no
 * browser attaches them on its own.
 */
export function checkCsrf(c: Context, csrfToken: string, ownOrigins: readonly string[]): void {
  if (SAFE_METHODS.has(c.req.method)) return;
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin') {
    throw forbidden(
      'csrf.cross_site',
      `a change with a console session must come from the console's own pages (Sec-Fetch-Site: ${site})`,
    );
  }
  const origin = c.req.header('origin');
  if (origin !== undefined && !ownOrigins.includes(origin)) {
    throw forbidden(
      'csrf.bad_origin',
      `a change with a console session must come from this server's origin, not ${origin.slice(0, 200)}`,
    );
  }
  const sent = c.req.header(CSRF_HEADER);
  if (!sent)
    throw forbidden(
      'csrf.missing_token',
      `a change with a console session needs the session's token in the ${CSRF_HEADER} header`,
    );
  if (!sameText(sent, csrfToken))
    throw forbidden('csrf.bad_token', `the ${CSRF_HEADER} header does not match this session`);
}

/** Constant-time comparison of two texts of any length. */
function sameText(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}
