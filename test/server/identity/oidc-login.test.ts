import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlError } from '../../../client/control/control-error.ts';
import { signInWithOidc, type LoginPrompt } from '../../../client/control/oidc-login.ts';
import type { AuditPage } from '../../../protocol/audit.ts';
import type { StartLoginResponse, WaitLoginResponse } from '../../../protocol/login.ts';
import { FormUser } from '../../support/form-user.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';
import { idpConfig, startTestIdp, type IdpUser, type TestIdp } from '../../support/test-idp.ts';

const USERS: Record<string, IdpUser> = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Liddell', groups: ['eng', 'sre'] },
  bob: { email: 'bob@example.com', email_verified: false, name: 'Bob', groups: ['eng'] },
  carol: { email: 'carol@partner.org', email_verified: true, name: 'Carol', groups: ['contractors'] },
  erin: { email: 'erin@partner.org', email_verified: true, name: 'Erin', groups: ['guests'] },
};
const KEY_EXPIRY_S = 3600;

describe('OIDC sign-in (real provider, no browser)', () => {
  let idp: TestIdp;
  let t: TestServer;
  let callbackUrl = '';

  beforeAll(async () => {
    idp = await startTestIdp(USERS, () => callbackUrl);
    t = await startTestServer({
      nodes: { keyExpirySeconds: KEY_EXPIRY_S },
      oidc: idpConfig(idp, { allowedDomains: ['example.com'], allowedGroups: ['contractors'] }),
    });
    callbackUrl = `${t.url}/login/callback`;
  });
  afterAll(async () => {
    await t.stop();
    await idp.close();
  });

  const start = async (agent: TestAgent, body: Record<string, unknown> = {}) =>
    (await agent.control.request('POST', '/api/v1/machine/login', {
      hostname: agent.hostname,
      ...body,
    })) as StartLoginResponse;
  const wait = async (agent: TestAgent, loginId: string) =>
    (await agent.control.request('POST', '/api/v1/machine/login/wait', { loginId })) as WaitLoginResponse;
  const register = (agent: TestAgent, loginId: string) =>
    agent.control.register({
      wireguardKey: agent.wireguard.publicKey,
      hostname: agent.hostname,
      credential: { type: 'oidc', loginId },
    });
  /** The person opens the link and continues to the provider: the provider's authorization URL. */
  const continueAt = async (person: FormUser, link: string) => {
    const handoff = await person.get(link);
    expect(handoff.status).toBe(200);
    const res = await person.get(`${link}/continue`);
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location')!);
  };
  const lastLoginEvent = async () => (await t.server.store.audit.list({ kind: 'login', limit: 1 }))[0]!;

  it('signs a person in: hand-off page, provider login and consent, node registered as that user with their groups', async () => {
    const agent = new TestAgent(t.url, 'alice-laptop');
    const person = new FormUser();
    const prompts: LoginPrompt[] = [];
    const credential = await signInWithOidc({
      control: agent.control,
      hostname: 'alice-laptop',
      present: async (p) => {
        prompts.push(p);
        const page = await (await person.get(p.url)).text();
        expect(page).toContain('<html lang="en">');
        expect(page).toContain('alice-laptop');
        expect(page).toContain(p.verificationCode);
        const authorize = await continueAt(person, p.url);
        expect(authorize.origin).toBe(idp.issuer);
        expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
        expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(authorize.searchParams.get('state')).toMatch(/\S{20,}/);
        expect(authorize.searchParams.get('nonce')).toMatch(/\S{20,}/);
        expect(authorize.searchParams.get('redirect_uri')).toBe(callbackUrl);
        expect(authorize.searchParams.get('prompt')).toBeNull();
        const back = await person.signInAtProvider(authorize.href, 'alice', callbackUrl);
        const approved = await person.get(back.href);
        expect(approved.status).toBe(200);
        const html = await approved.text();
        expect(html).toMatch(/<title>Device approved/);
        expect(html).toContain('alice@example.com');
        expect(approved.headers.get('content-security-policy')).toContain("default-src 'none'");
        expect(approved.headers.get('referrer-policy')).toBe('no-referrer');
      },
    });
    expect(prompts[0]).toMatchObject({ mode: 'browser', url: expect.stringContaining(`${t.url}/login/`) });
    const before = Date.now();
    const node = await register(agent, credential.loginId);
    expect(node.user).toBe('alice@example.com');
    expect(node.tags).toEqual([]);
    const user = (await t.server.store.users.getByEmail('alice@example.com'))!;
    expect(user).toMatchObject({
      subject: `${idp.issuer}#alice`,
      displayName: 'Alice Liddell',
      groups: ['eng', 'sre'],
    });
    const record = (await t.server.store.nodes.get(node.id))!;
    expect(record.ephemeral).toBe(false);
    expect(record.expiresAt! - before).toBeGreaterThanOrEqual(KEY_EXPIRY_S * 1000 - 1000);
    expect(record.expiresAt! - before).toBeLessThanOrEqual(KEY_EXPIRY_S * 1000 + 5000);
    expect(record.identity).toEqual({
      method: 'oidc',
      provider: 'test-idp',
      issuer: idp.issuer,
      subject: 'alice',
      email: 'alice@example.com',
    });
    const events = await t.server.store.audit.list({ limit: 4 });
    expect(events.map((e) => `${e.kind}:${e.outcome}`)).toEqual([
      'node.register:success',
      'auth:success',
      'login:success',
      'login:success',
    ]);
    expect(events[2]).toMatchObject({
      code: 'login.completed',
      actor: 'alice@example.com',
      identity: `${idp.issuer}#alice`,
    });

    // The sign-in is used up: it cannot register a second time.
    await expect(register(agent, credential.loginId)).rejects.toMatchObject({ code: 'login.used' });
  });

  const browserSignIn = async (agent: TestAgent, login: string) => {
    const started = await start(agent);
    const person = new FormUser();
    const authorize = await continueAt(person, started.url);
    const back = await person.signInAtProvider(authorize.href, login, callbackUrl);
    return { started, person, authorize, back, page: await person.get(back.href) };
  };

  it('asks the provider for a fresh sign-in when configured with prompt: login', async () => {
    const strict = await startTestServer({ oidc: idpConfig(idp, { prompt: 'login' }) });
    try {
      const agent = new TestAgent(strict.url, 'kiosk');
      const started = (await agent.control.request('POST', '/api/v1/machine/login', {
        hostname: 'kiosk',
      })) as StartLoginResponse;
      const person = new FormUser();
      await person.get(started.url);
      const res = await person.get(`${started.url}/continue`);
      expect(new URL(res.headers.get('location')!).searchParams.get('prompt')).toBe('login');
    } finally {
      await strict.stop();
    }
  });

  it('signing in again renews the node key, keeps the node and brings the groups up to date', async () => {
    const agent = new TestAgent(t.url, 'renewing');
    const first = await browserSignIn(agent, 'alice');
    const node = await register(agent, first.started.loginId);
    await t.admin('POST', `/api/v1/nodes/${node.id}/expire`);
    USERS.alice!.groups = ['eng', 'platform'];
    try {
      const second = await browserSignIn(agent, 'alice');
      expect(second.page.status).toBe(200);
      const again = await register(agent, second.started.loginId);
      expect(again.id).toBe(node.id);
      expect((await t.server.store.nodes.get(node.id))!.expiresAt!).toBeGreaterThan(Date.now() + 60_000);
      expect((await t.server.store.users.getByEmail('alice@example.com'))!.groups).toEqual(['eng', 'platform']);
    } finally {
      USERS.alice!.groups = ['eng', 'sre'];
    }
  });

  it('lets only the machine that started a sign-in wait for it or register with it, and only once it is complete', async () => {
    const owner = new TestAgent(t.url, 'owner');
    const thief = new TestAgent(t.url, 'thief');
    const started = await start(owner);
    await expect(register(owner, started.loginId)).rejects.toMatchObject({ code: 'login.pending', status: 409 });
    await expect(wait(thief, started.loginId)).rejects.toMatchObject({ code: 'login.not_found', status: 404 });
    const person = new FormUser();
    const back = await person.signInAtProvider((await continueAt(person, started.url)).href, 'alice', callbackUrl);
    expect((await person.get(back.href)).status).toBe(200);
    await expect(register(thief, started.loginId)).rejects.toMatchObject({ code: 'login.not_found' });
    expect(await wait(owner, started.loginId)).toEqual({ status: 'complete', user: 'alice@example.com' });
    expect((await register(owner, started.loginId)).user).toBe('alice@example.com');
  });

  it('admits by group when the domain is not allowed, and refuses a person matching no allow-list', async () => {
    const carol = await browserSignIn(new TestAgent(t.url, 'carol'), 'carol');
    expect(carol.page.status).toBe(200);
    const agent = new TestAgent(t.url, 'erin');
    const erin = await browserSignIn(agent, 'erin');
    expect(erin.page.status).toBe(403);
    const html = await erin.page.text();
    expect(html).toMatch(/<title>Sign-in failed/);
    expect(html).toContain('oidc.not_allowed');
    expect(await wait(agent, erin.started.loginId)).toMatchObject({ status: 'failed', code: 'oidc.not_allowed' });
    await expect(register(agent, erin.started.loginId)).rejects.toMatchObject({
      code: 'oidc.not_allowed',
      status: 401,
    });
    expect(await lastLoginEvent()).toMatchObject({ outcome: 'failure', code: 'oidc.not_allowed' });
    expect(await t.server.store.users.getByEmail('erin@partner.org')).toBeUndefined();
  });

  it('refuses an unverified email where verification is required', async () => {
    const agent = new TestAgent(t.url, 'bob');
    const bob = await browserSignIn(agent, 'bob');
    expect(bob.page.status).toBe(403);
    expect(await bob.page.text()).toContain('is not verified');
    expect(await wait(agent, bob.started.loginId)).toMatchObject({ status: 'failed', code: 'oidc.email_unverified' });
    expect(await lastLoginEvent()).toMatchObject({ outcome: 'failure', code: 'oidc.email_unverified' });
  });

  describe('refuses forged and replayed callbacks, each with an error page and an audit record', () => {
    it('a state that belongs to no sign-in', async () => {
      const person = new FormUser();
      const res = await person.get(`${callbackUrl}?code=abc&state=forged-state`);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('oidc.unknown_state');
      expect(await lastLoginEvent()).toMatchObject({ outcome: 'failure', code: 'oidc.unknown_state' });
    });

    it('a callback replayed after the sign-in completed', async () => {
      const done = await browserSignIn(new TestAgent(t.url, 'replay'), 'alice');
      expect(done.page.status).toBe(200);
      const again = await done.person.get(done.back.href);
      expect(again.status).toBe(400);
      expect(await again.text()).toContain('oidc.unknown_state');
    });

    it('a code replayed into another sign-in (its state and browser, but not its PKCE verifier)', async () => {
      const done = await browserSignIn(new TestAgent(t.url, 'victim'), 'alice');
      const agent = new TestAgent(t.url, 'attacker');
      const started = await start(agent);
      const attacker = new FormUser();
      const authorize = await continueAt(attacker, started.url);
      const res = await attacker.get(
        `${callbackUrl}?code=${done.back.searchParams.get('code')}&state=${authorize.searchParams.get('state')}&iss=${encodeURIComponent(idp.issuer)}`,
      );
      expect(res.status).toBe(401);
      expect(await res.text()).toContain('oidc.code_rejected');
      expect(await wait(agent, started.loginId)).toMatchObject({ status: 'failed', code: 'oidc.code_rejected' });
      expect(await lastLoginEvent()).toMatchObject({ outcome: 'failure', code: 'oidc.code_rejected' });
    });

    it('an ID token with another nonce (the authorization request was tampered with)', async () => {
      const agent = new TestAgent(t.url, 'nonce');
      const started = await start(agent);
      const person = new FormUser();
      const authorize = await continueAt(person, started.url);
      authorize.searchParams.set('nonce', 'attacker-chosen-nonce-0123456789');
      const back = await person.signInAtProvider(authorize.href, 'alice', callbackUrl);
      const res = await person.get(back.href);
      expect(res.status).toBe(401);
      expect(await res.text()).toContain('oidc.nonce_mismatch');
      expect(await wait(agent, started.loginId)).toMatchObject({ status: 'failed', code: 'oidc.nonce_mismatch' });
    });

    it('a request stripped of its PKCE challenge (this provider refuses it; the sign-in fails)', async () => {
      const agent = new TestAgent(t.url, 'no-pkce');
      const started = await start(agent);
      const person = new FormUser();
      const authorize = await continueAt(person, started.url);
      authorize.searchParams.delete('code_challenge');
      authorize.searchParams.delete('code_challenge_method');
      const back = await person.signInAtProvider(authorize.href, 'alice', callbackUrl);
      expect(back.searchParams.get('code')).toBeNull();
      const res = await person.get(back.href);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('oidc.denied');
      expect(await wait(agent, started.loginId)).toMatchObject({ status: 'failed', code: 'oidc.denied' });
    });

    it.each([
      [
        'with another PKCE challenge',
        (u: URL) => u.searchParams.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'),
      ],
    ])('a code issued %s', async (_what, tamper) => {
      const agent = new TestAgent(t.url, 'pkce');
      const started = await start(agent);
      const person = new FormUser();
      const authorize = await continueAt(person, started.url);
      tamper(authorize);
      const back = await person.signInAtProvider(authorize.href, 'alice', callbackUrl);
      const res = await person.get(back.href);
      expect(res.status).toBe(401);
      expect(await res.text()).toContain('oidc.code_rejected');
      expect(await wait(agent, started.loginId)).toMatchObject({ status: 'failed', code: 'oidc.code_rejected' });
      expect(await lastLoginEvent()).toMatchObject({ outcome: 'failure', code: 'oidc.code_rejected' });
    });

    it('a callback arriving in another browser than the one that continued to the provider', async () => {
      const agent = new TestAgent(t.url, 'other-browser');
      const started = await start(agent);
      const person = new FormUser();
      const back = await person.signInAtProvider((await continueAt(person, started.url)).href, 'alice', callbackUrl);
      const res = await new FormUser().get(back.href);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('oidc.browser_mismatch');
    });
  });

  it('uses the device-authorization grant when asked and the provider supports it', async () => {
    const agent = new TestAgent(t.url, 'headless');
    const credential = await signInWithOidc({
      control: agent.control,
      hostname: 'headless',
      device: true,
      present: async (p) => {
        expect(p.mode).toBe('device');
        expect(p.userCode).toMatch(/\S/);
        expect(p.url.startsWith(idp.issuer)).toBe(true);
        await new FormUser().signInAtProvider(p.url, 'alice', '');
      },
    });
    expect((await register(agent, credential.loginId)).user).toBe('alice@example.com');
  }, 40_000);

  it('lets an administrator expire every node of a user at once, and audits it', async () => {
    const agent = new TestAgent(t.url, 'to-expire');
    const done = await browserSignIn(agent, 'alice');
    const node = await register(agent, done.started.loginId);
    const user = (await t.server.store.users.getByEmail('alice@example.com'))!;
    const res = await t.admin<{ items: Array<{ id: string; expiresAt: string }> }>(
      'POST',
      `/api/v1/users/${user.id}/expire-nodes`,
    );
    expect(res.status).toBe(200);
    expect(res.body.items.map((n) => n.id)).toContain(node.id);
    for (const n of res.body.items) expect(Date.parse(n.expiresAt)).toBeLessThanOrEqual(Date.now());
    await expect(agent.control.self()).rejects.toMatchObject({ code: 'node.expired' });
    const audit = await t.admin<AuditPage>('GET', '/api/v1/audit?kind=node.expire&limit=1000');
    expect(audit.body.items.filter((e) => e.nodeId === node.id)).toHaveLength(1);
    const admin = await t.admin<AuditPage>('GET', '/api/v1/audit?kind=admin&limit=1');
    expect(admin.body.items[0]).toMatchObject({
      outcome: 'success',
      method: 'api-key',
      actor: expect.stringMatching(/^api-key:/),
      code: `POST /api/v1/users/${user.id}/expire-nodes`,
    });
  });
});

describe('without identity providers', () => {
  it('answers a sign-in start with a clear error', async () => {
    const t = await startTestServer();
    try {
      const err = await new TestAgent(t.url, 'x').control
        .request('POST', '/api/v1/machine/login', { hostname: 'x' })
        .catch((e: ControlError) => e);
      expect(err).toMatchObject({ status: 404 });
    } finally {
      await t.stop();
    }
  });
});
