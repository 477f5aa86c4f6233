/**
 * Signing in to the console through the identity provider, as each role, in Debian's chromium:
 * what each person sees and may do, and that the server, not the page, enforces it.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, hasCommand } from '../support/prerequisites.ts';
import { startConsoleLab, type ConsoleLab } from './console-harness.ts';

const ALL_PAGES = ['Machines', 'Users and groups', 'Access controls', 'Routes and exit nodes', 'Keys', 'Audit log'];

describeWith([hasCommand('chromium')], 'console sign-in and roles (chromium)', () => {
  let lab: ConsoleLab;
  beforeAll(async () => {
    lab = await startConsoleLab();
    const mel = await lab.join('mel-laptop', { user: 'mel@example.com' });
    mel.connect();
    await lab.join('web-1', { user: 'ada@example.com' });
  }, 60_000);
  afterAll(() => lab?.close());

  const navLinks = (page: Page) =>
    page.getByRole('navigation', { name: 'Console' }).getByRole('link').allTextContents();
  /** A change from the signed-in page itself, with or without the session's CSRF token. */
  const changeFromPage = (page: Page, path: string, body: unknown, withToken: boolean) =>
    page.evaluate(
      async ({ path, body, withToken }) => {
        const session = (await (await fetch('/api/v1/console/session')).json()) as { csrfToken: string };
        const res = await fetch(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(withToken && { 'x-csrf-token': session.csrfToken }) },
          body: JSON.stringify(body),
        });
        return { status: res.status, code: ((await res.json()) as { code?: string }).code };
      },
      { path, body, withToken },
    );
  const nodeId = async (name: string) => (await lab.t.server.store.nodes.list()).find((n) => n.name === name)!.id;

  it('an admin signs in through the provider and sees every page and every machine', async () => {
    const page = await lab.signIn('ada');
    expect(await page.locator('header .who').textContent()).toContain('admin');
    expect(await navLinks(page)).toEqual(ALL_PAGES);
    await expect.poll(() => page.getByRole('link', { name: 'mel-laptop' }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'web-1' }).count()).toBe(1);
    await page.getByRole('link', { name: 'Keys' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'API keys' }).count()).toBe(1);
  });

  it('an auditor sees every page but is offered no change, and the server refuses one anyway', async () => {
    const page = await lab.signIn('aud');
    expect(await page.locator('header .who').textContent()).toContain('auditor');
    expect(await navLinks(page)).toEqual(ALL_PAGES);
    await page.getByRole('link', { name: 'mel-laptop' }).click();
    await expect.poll(() => page.getByText('Your role can view this machine but not change it.').count()).toBe(1);
    expect(await page.getByRole('button', { name: /Rename|Delete|Expire/ }).count()).toBe(0);
    await page.getByRole('link', { name: 'Access controls' }).click();
    await expect.poll(() => page.getByLabel('Policy (HuJSON)').getAttribute('readonly')).not.toBeNull();
    expect(await page.getByRole('button', { name: /Apply/ }).count()).toBe(0);
    await page.getByRole('link', { name: 'Keys' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Pre-auth keys' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: /Create|Revoke/ }).count()).toBe(0);
    // Even with the session's own token, the auditor's role does not grant a change.
    const refused = await changeFromPage(
      page,
      `/api/v1/nodes/${await nodeId('mel-laptop')}/rename`,
      { name: 'x' },
      true,
    );
    expect(refused.status).toBe(403);
    expect((await lab.t.server.store.nodes.list()).map((n) => n.name)).toContain('mel-laptop');
  });

  it('a member sees only their own machines and no operator page', async () => {
    const page = await lab.signIn('mel');
    expect(await page.locator('header .who').textContent()).toContain('member');
    expect(await navLinks(page)).toEqual(['Machines']);
    await expect.poll(() => page.getByRole('link', { name: 'mel-laptop' }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'web-1' }).count()).toBe(0);
    expect(await page.locator('.count').textContent()).toBe('1 of 1 machines');
  });

  it('a change without the CSRF token is refused, and the same change with it is made', async () => {
    const page = await lab.signIn('ada');
    const id = await nodeId('web-1');
    const refused = await changeFromPage(page, `/api/v1/nodes/${id}/rename`, { name: 'web-renamed' }, false);
    expect(refused).toEqual({ status: 403, code: 'csrf.missing_token' });
    expect((await lab.t.server.store.nodes.get(id))!.name).toBe('web-1');
    const made = await changeFromPage(page, `/api/v1/nodes/${id}/rename`, { name: 'web-renamed' }, true);
    expect(made.status).toBe(200);
    expect((await lab.t.server.store.nodes.get(id))!.name).toBe('web-renamed');
  });

  it('signing out ends the session: the console asks to sign in again', async () => {
    const page = await lab.signIn('ada');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByRole('link', { name: 'Sign in with test-idp' }).count()).toBe(1);
    expect((await page.request.get(`${lab.t.url}/api/v1/console/session`)).status()).toBe(401);
  });
});
