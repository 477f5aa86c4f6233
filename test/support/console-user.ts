import { expect } from 'vitest';
import type { ConsoleSessionView } from '../../protocol/console.ts';
import { FormUser } from './form-user.ts';

/** One answer of the console's API, its body parsed. */
export interface ConsoleAnswer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * A person using the console without a browser: signs in through the real provider (its login
 * and consent forms), then calls the API as the console's pages do: the session cookie, the
 * CSRF token in X-CSRF-Token, and the headers a browser adds to a same-origin fetch.
 */
export class ConsoleUser {
  readonly browser = new FormUser();
  session?: ConsoleSessionView;
  /** The Set-Cookie line of the session cookie, as the server sent it. */
  sessionCookieLine?: string;

  constructor(readonly serverUrl: string) {}

  /** Signs in as the provider's account `login`; returns the page the server sent the browser to. */
  async signIn(login: string, provider = 'test-idp', next?: string): Promise<URL> {
    const start = `${this.serverUrl}/console/login?provider=${provider}${next ? `&next=${encodeURIComponent(next)}` : ''}`;
    const res = await this.browser.get(start);
    expect(res.status).toBe(302);
    const callback = `${this.serverUrl}/login/callback`;
    const back = await this.browser.signInAtProvider(res.headers.get('location')!, login, callback);
    const done = await this.browser.get(back.href);
    if (done.status !== 302) throw new Error(`sign-in refused (${done.status}): ${await done.text()}`);
    this.sessionCookieLine = done.headers.getSetCookie().find((l) => /^(__Host-)?trellis_console=/.test(l));
    const me = await this.call<ConsoleSessionView>('GET', '/api/v1/console/session');
    expect(me.status).toBe(200);
    this.session = me.body;
    return new URL(done.headers.get('location')!, this.serverUrl);
  }

  /** A request as the console makes it; `csrf: false` leaves the token out, `headers` adds or overrides. */
  async call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    o: { csrf?: boolean | string; headers?: Record<string, string> } = {},
  ): Promise<ConsoleAnswer<T>> {
    const token = o.csrf === false ? undefined : typeof o.csrf === 'string' ? o.csrf : this.session?.csrfToken;
    const res = await this.browser.send(this.serverUrl + path, {
      method,
      headers: {
        origin: this.serverUrl,
        'sec-fetch-site': 'same-origin',
        ...(token && method !== 'GET' && { 'x-csrf-token': token }),
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...o.headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (an event stream, a page): the text
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }
}
