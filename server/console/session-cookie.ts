import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

/**
 * The console session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's
 * page sends it), Path=/. Over https it is Secure and named with the `__Host-` prefix, which
 * browsers accept only Secure, host-only and on Path=/, so no sibling domain can plant one.
 */
const PLAIN = 'trellis_console';
const HOST_ONLY = '__Host-trellis_console';

const nameFor = (secure: boolean) => (secure ? HOST_ONLY : PLAIN);

export function readSessionCookie(c: Context, secure: boolean): string | undefined {
  return getCookie(c, nameFor(secure)) || undefined;
}

export function hasSessionCookie(c: Context): boolean {
  return getCookie(c, PLAIN) !== undefined || getCookie(c, HOST_ONLY) !== undefined;
}

export function setSessionCookie(c: Context, token: string, maxAgeMs: number, secure: boolean): void {
  setCookie(c, nameFor(secure), token, {
    path: '/',
    httpOnly: true,
    sameSite: 'Strict',
    secure,
    maxAge: Math.floor(maxAgeMs / 1000),
  });
}

export function clearSessionCookie(c: Context, secure: boolean): void {
  deleteCookie(c, nameFor(secure), { path: '/', secure, httpOnly: true, sameSite: 'Strict' });
}
