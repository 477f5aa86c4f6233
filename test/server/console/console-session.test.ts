import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleUser } from '../../support/console-user.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { idpConfig, startTestIdp, type IdpUser, type TestIdp } from '../../support/test-idp.ts';

const USERS: Record<string, IdpUser> = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice', groups: ['eng'] },
  nina: { email: 'nina@example.com', email_verified: true, name: 'Nina', groups: ['netops'] },
  otto: { email: 'otto@example.com', email_verified: true, name: 'Otto', groups: ['audit'] },
  mia: { email: 'mia@example.com', email_verified: true, name: 'Mia', groups: ['eng'] },
};
const IDLE_S = 600;
const MAX_S = 3600;

describe('console sessions: sign-in through the real provider, roles, cookies, CSRF, expiry', () => {
  let idp: TestIdp;
  let t: TestServer;
  let callbackUrl = '';
  let clock = Date.now();

  beforeAll(async () => {
    idp = await startTestIdp(USERS, () => callbackUrl);
    t = await startTestServer(
      {
        oidc: idpConfig(idp),
        console: {
          roles: {
            admin: { users: ['Alice@Example.com'] },
            'network-admin': { groups: ['netops'] },
            auditor: { groups: ['audit'] },
          },
          sessionIdleSeconds: IDLE_S,
          sessionMaxSeconds: MAX_S,
        },
      },
      undefined,
      () => clock,
    );
    callbackUrl = `${t.url}/login/callback`;
  });
  afterAll(async () => {
    await t?.stop();
    await idp?.close();
  });

  const signIn = async (login: string) => {
    const person = new ConsoleUser(t.url);
    await person.signIn(login);
    return person;
  };

  it('signs a person in through the provider and says who they are, their role and the CSRF token', async () => {
    const alice = new ConsoleUser(t.url);
    const landed = await alice.signIn('alice', 'test-idp', '/console/machines?q=web');
    expect(landed.pathname + landed.search).toBe('/console/machines?q=web');
    expect(alice.session).toMatchObject({
      user: { email: 'alice@example.com', displayName: 'Alice', groups: ['eng'] },
      role: 'admin',
      scopes: ['admin'],
      provider: 'test-idp',
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    const [signedIn] = await t.server.store.audit.list({ kind: 'login', limit: 1 });
    expect(signedIn).toMatchObject({ outcome: 'success', code: 'console.signed_in', actor: 'alice@example.com' });
  });

  it('never sends a person anywhere but the console after signing in', async () => {
    const mallory = new ConsoleUser(t.url);
    expect((await mallory.signIn('alice', 'test-idp', 'https://evil.example/')).pathname).toBe('/console/');
    expect((await mallory.signIn('alice', 'test-idp', '//evil.example/console')).pathname).toBe('/console/');
  });

  it('sets the session cookie HttpOnly, SameSite=Strict, on Path=/, with its absolute lifetime, and keeps only its hash', async () => {
    const alice = await signIn('alice');
    const line = alice.sessionCookieLine!;
    expect(line).toMatch(/^trellis_console=[A-Za-z0-9_-]{43};/);
    expect(line).toMatch(/; HttpOnly/i);
    expect(line).toMatch(/; SameSite=Strict/i);
    expect(line).toMatch(/; Path=\//i);
    expect(line).toMatch(new RegExp(`; Max-Age=${MAX_S}`, 'i'));
    // Plain http on loopback: a Secure cookie would never come back.
    expect(line).not.toMatch(/Secure/i);
    const token = /^trellis_console=([^;]+)/.exec(line)![1]!;
    const stored = await t.server.store.consoleSessions.get(token);
    expect(stored).toBeUndefined();
  });

  /** Signs in with the provider, then brings the provider's answer back with these headers (as a proxy would). */
  const returnWith = async (url: string, headers: Record<string, string>) => {
    const person = new ConsoleUser(url);
    const res = await person.browser.get(`${url}/console/login?provider=test-idp`);
    const back = await person.browser.signInAtProvider(res.headers.get('location')!, 'mia', `${url}/login/callback`);
    const done = await person.browser.send(back.href, { headers });
    expect(done.status).toBe(302);
    return done.headers.getSetCookie().find((l) => /^(__Host-)?trellis_console=/.test(l))!;
  };

  it('marks the cookie Secure (and __Host-) when a trusted proxy says the browser speaks https, and not otherwise', async () => {
    let behindUrl = '';
    const idp2 = await startTestIdp(USERS, () => `${behindUrl}/login/callback`);
    const behind = await startTestServer({
      oidc: idpConfig(idp2),
      listen: { host: '127.0.0.1', port: 0, trustProxy: true },
    });
    behindUrl = behind.url;
    try {
      const line = await returnWith(behind.url, { 'x-forwarded-proto': 'https' });
      expect(line).toMatch(/^__Host-trellis_console=/);
      expect(line).toMatch(/; Secure/i);
      expect(line).toMatch(/; HttpOnly/i);
      expect(line).toMatch(/; SameSite=Strict/i);
    } finally {
      await behind.stop();
      await idp2.close();
    }
    // Without listen.trustProxy, anyone could send the header: it changes nothing.
    expect(await returnWith(t.url, { 'x-forwarded-proto': 'https' })).toMatch(/^trellis_console=(?!.*Secure)/i);
  });

  it('maps roles from users and identity-provider groups; a person named by none is a member', async () => {
    expect((await signIn('nina')).session).toMatchObject({
      role: 'network-admin',
      scopes: ['read', 'policy', 'routes'],
    });
    expect((await signIn('otto')).session).toMatchObject({ role: 'auditor', scopes: ['read'] });
    expect((await signIn('mia')).session).toMatchObject({ role: 'member', scopes: [] });
  });

  it('an auditor reads everything and changes nothing', async () => {
    const otto = await signIn('otto');
    const node = (await t.admin<{ secret: string }>('POST', '/api/v1/preauth-keys', { tags: ['tag:x'] })).status;
    expect(node).toBe(201);
    expect((await otto.call('GET', '/api/v1/nodes')).status).toBe(200);
    expect((await otto.call('GET', '/api/v1/policy')).status).toBe(200);
    expect((await otto.call('GET', '/api/v1/audit')).status).toBe(200);
    for (const [method, path, body] of [
      ['PUT', '/api/v1/policy', { policy: '{}' }],
      ['POST', '/api/v1/preauth-keys', { tags: ['tag:x'] }],
      ['POST', '/api/v1/users', { email: 'x@example.com' }],
      ['DELETE', '/api/v1/nodes/nope', undefined],
      ['POST', '/api/v1/api-keys', { scopes: ['admin'] }],
    ] as const) {
      const res = await otto.call(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.code).toBe('console.role');
    }
    const [refused] = await t.server.store.audit.list({ kind: 'auth', limit: 1 });
    expect(refused).toMatchObject({ outcome: 'failure', method: 'console', code: 'console.role' });
  });

  it('a change made in the console is audited with the signed-in person as its actor', async () => {
    const alice = await signIn('alice');
    const res = await alice.call('POST', '/api/v1/users', { email: 'newbie@example.com' });
    expect(res.status).toBe(201);
    const filtered = await alice.call(
      'GET',
      '/api/v1/audit?actor=alice%40example.com&action=POST%20%2Fapi%2Fv1%2Fusers',
    );
    expect(filtered.status).toBe(200);
    expect(filtered.body.items.length).toBeGreaterThan(0);
    for (const e of filtered.body.items)
      expect(e).toMatchObject({ actor: 'alice@example.com', code: 'POST /api/v1/users' });
    const [event] = await t.server.store.audit.list({ kind: 'admin', limit: 1 });
    expect(event).toMatchObject({
      outcome: 'success',
      actor: 'alice@example.com',
      method: 'console',
      code: 'POST /api/v1/users',
    });
  });

  it('refuses a change without the CSRF token, with a wrong one, from another site or origin; API keys need none', async () => {
    const alice = await signIn('alice');
    const body = { email: 'csrf@example.com' };
    const refused = async (o: Parameters<ConsoleUser['call']>[3], code: string) => {
      const res = await alice.call('POST', '/api/v1/users', body, o);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe(code);
    };
    await refused({ csrf: false }, 'csrf.missing_token');
    await refused({ csrf: 'A'.repeat(43) }, 'csrf.bad_token');
    await refused({ headers: { 'sec-fetch-site': 'cross-site' } }, 'csrf.cross_site');
    await refused({ headers: { 'sec-fetch-site': 'same-site' } }, 'csrf.cross_site');
    await refused({ headers: { origin: 'https://evil.example' } }, 'csrf.bad_origin');
    expect(await t.server.store.users.getByEmail('csrf@example.com')).toBeUndefined();
    // Reads need no token; automation with a Bearer key needs no token.
    expect((await alice.call('GET', '/api/v1/users', undefined, { csrf: false })).status).toBe(200);
    expect((await t.admin('POST', '/api/v1/users', body)).status).toBe(201);
  });

  it('a member sees only their own machines, and nothing else', async () => {
    const mia = await signIn('mia');
    const miaUser = (await t.server.store.users.getByEmail('mia@example.com'))!;
    const { TestAgent } = await import('../../support/server.ts');
    const own = await new TestAgent(t.url, 'mia-laptop').join(await t.preAuthKey({ user: 'mia@example.com' }));
    const other = await new TestAgent(t.url, 'alices-desktop').join(await t.preAuthKey({ user: 'alice@example.com' }));
    expect(own.user).toBe(miaUser.email);
    const list = await mia.call<{ items: Array<{ name: string }> }>('GET', '/api/v1/nodes');
    expect(list.status).toBe(200);
    expect(list.body.items.map((n) => n.name)).toEqual(['mia-laptop']);
    expect((await mia.call('GET', `/api/v1/nodes/${own.id}`)).status).toBe(200);
    const theirs = await mia.call('GET', `/api/v1/nodes/${other.id}`);
    expect(theirs.status).toBe(404);
    expect(theirs.body.code).toBe('node.not_found');
    for (const path of ['/api/v1/users', '/api/v1/policy', '/api/v1/audit', '/api/v1/preauth-keys']) {
      expect((await mia.call('GET', path)).body.code, path).toBe('console.role');
    }
    expect((await mia.call('POST', `/api/v1/nodes/${own.id}/rename`, { name: 'x' })).body.code).toBe('console.role');
  });

  it('ends a session after its idle time, and at its absolute end however active', async () => {
    const alice = await signIn('alice');
    const start = clock;
    try {
      clock = start + (IDLE_S - 30) * 1000;
      expect((await alice.call('GET', '/api/v1/console/session')).status).toBe(200);
      clock = start + (2 * IDLE_S - 40) * 1000;
      expect((await alice.call('GET', '/api/v1/console/session')).status).toBe(200);
      clock = start + 3 * IDLE_S * 1000;
      const idle = await alice.call('GET', '/api/v1/nodes');
      expect(idle.status).toBe(401);
      expect(idle.body.code).toBe('session.idle');

      clock = start;
      const busy = await signIn('alice');
      for (let at = 0; at < MAX_S; at += IDLE_S / 2) {
        clock = start + at * 1000;
        expect((await busy.call('GET', '/api/v1/console/session')).status).toBe(200);
      }
      clock = start + MAX_S * 1000;
      const old = await busy.call('GET', '/api/v1/console/session');
      expect(old.status).toBe(401);
      expect(old.body.code).toBe('session.expired');
    } finally {
      clock = start;
    }
  });

  it('signs out: the session ends in the store and the cookie is cleared', async () => {
    const alice = await signIn('alice');
    expect((await alice.call('DELETE', '/api/v1/console/session', undefined, { csrf: false })).body.code).toBe(
      'csrf.missing_token',
    );
    const out = await alice.call('DELETE', '/api/v1/console/session');
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().join()).toMatch(/trellis_console=;.*Max-Age=0/i);
    const replay = await fetch(`${t.url}/api/v1/console/session`, {
      headers: { cookie: /^([^;]+)/.exec(alice.sessionCookieLine!)![1]! },
    });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { code: string }).code).toBe('session.unknown');
  });

  it('answers without a session or key as unauthenticated, naming both ways in', async () => {
    const res = await fetch(`${t.url}/api/v1/nodes`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({
      code: 'api_key.missing',
      message: expect.stringContaining('console session'),
    });
    const me = await fetch(`${t.url}/api/v1/console/session`);
    expect(((await me.json()) as { code: string }).code).toBe('session.missing');
  });

  it("serves the console's pages with a Content-Security-Policy without 'unsafe-inline', and other security headers", async () => {
    for (const path of ['/console/login?provider=nope', '/console/', '/console/assets/app.js']) {
      const res = await fetch(t.url + path, { redirect: 'manual' });
      const csp = res.headers.get('content-security-policy');
      expect(csp, path).toBeTruthy();
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const styles = (await fetch(`${t.url}/console/`)).headers.get('content-security-policy')!;
    expect(styles).toMatch(/script-src 'self'/);
    expect(styles).not.toMatch(/https?:/);
  });
});
