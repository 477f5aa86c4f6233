/**
 * One-time sign-in links: the console without an identity provider. Over real HTTP: a link
 * shows a page, its form signs in once as the link's person and role, and then never again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditPage } from '../../../protocol/audit.ts';
import { ConsoleSessionView, SignInLinkView } from '../../../protocol/console.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

describe('console sign-in links', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer();
  });
  afterAll(async () => {
    await ts?.stop();
  });

  const makeLink = async (body: object = {}) => {
    const res = await ts.admin('POST', '/api/v1/console/sign-in-links', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return SignInLinkView.parse(res.body);
  };
  const tokenOf = (url: string) => new URL(url).searchParams.get('link')!;
  const redeem = (token: string, headers: Record<string, string> = { 'sec-fetch-site': 'same-origin' }) =>
    fetch(`${ts.url}/console/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ link: token }).toString(),
    });

  it('shows a page with a Sign in button; opening it uses nothing up', async () => {
    const link = await makeLink();
    const page = await fetch(link.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/console/sign-in">');
    expect(page.headers.get('content-security-policy')).toContain("form-action 'self'");
    expect((await redeem(tokenOf(link.url))).status).toBe(303);
  });

  it('signs in once as the link names, with its role, and audits it', async () => {
    const link = await makeLink({ email: 'ops@example.com', role: 'auditor' });
    expect(link).toMatchObject({ email: 'ops@example.com', role: 'auditor' });
    const res = await redeem(tokenOf(link.url));
    expect([res.status, res.headers.get('location')]).toEqual([303, '/console/']);
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const session = ConsoleSessionView.parse(
      await (await fetch(`${ts.url}/api/v1/console/session`, { headers: { cookie } })).json(),
    );
    expect(session).toMatchObject({ user: { email: 'ops@example.com' }, role: 'auditor', provider: 'link:auditor' });
    // An auditor changes nothing.
    const change = await fetch(`${ts.url}/api/v1/policy`, {
      method: 'PUT',
      headers: { cookie, 'x-csrf-token': session.csrfToken, 'content-type': 'application/json' },
      body: JSON.stringify({ policy: '{}' }),
    });
    expect(change.status).toBe(403);

    const again = await redeem(tokenOf(link.url));
    expect(again.status).toBe(401);
    expect(await again.text()).toContain('console.link_invalid');
    const audit = AuditPage.parse((await ts.admin('GET', '/api/v1/audit?kind=login')).body);
    expect(audit.items.map((e) => [e.outcome, e.method, e.code])).toEqual(
      expect.arrayContaining([
        ['success', 'sign-in-link', 'console.signed_in'],
        ['failure', 'sign-in-link', 'console.link_invalid'],
      ]),
    );
  });

  it('is no session before it is redeemed', async () => {
    const link = await makeLink();
    const res = await fetch(`${ts.url}/api/v1/console/session`, {
      headers: { cookie: `trellis_console=${tokenOf(link.url)}` },
    });
    expect(res.status).toBe(401);
    expect((await redeem(tokenOf(link.url))).status).toBe(303);
  });

  it('refuses a post from another site, and a link it never issued', async () => {
    const link = await makeLink();
    const cross = await redeem(tokenOf(link.url), { 'sec-fetch-site': 'cross-site' });
    expect(cross.status).toBe(403);
    expect((await redeem('A'.repeat(43))).status).toBe(401);
    // The refused cross-site post did not use the link up.
    expect((await redeem(tokenOf(link.url))).status).toBe(303);
  });
});
