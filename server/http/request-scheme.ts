import type { Context } from 'hono';

export interface SchemeOptions {
  publicUrl: () => string;
  /** Believe X-Forwarded-Proto (config `listen.trustProxy`). */
  trustProxy: boolean;
}

/**
 * Whether the browser reached this server over https: the public URL says so, the request came
 * in on TLS, or (only behind a trusted proxy) the proxy says the browser used https.
 */
export function requestIsHttps(c: Context, o: SchemeOptions): boolean {
  if (o.publicUrl().startsWith('https:')) return true;
  if (new URL(c.req.url).protocol === 'https:') return true;
  const forwarded = o.trustProxy ? c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() : undefined;
  return forwarded === 'https';
}

/** The origins a same-site request of this server's own pages may carry. */
export function ownOrigins(c: Context, o: SchemeOptions): string[] {
  const origins = [new URL(o.publicUrl()).origin];
  const host = c.req.header('host');
  if (host) origins.push(`${requestIsHttps(c, o) ? 'https' : 'http'}://${host}`);
  return origins;
}
