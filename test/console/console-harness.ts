import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { launchBrowser, type Browser } from '../support/chromium.ts';
import { startTestServer, TestAgent, type TestServer } from '../support/server.ts';
import { idpConfig, startTestIdp, type IdpUser, type TestIdp } from '../support/test-idp.ts';

/** The people of every console suite: one per role, and who holds it (by email, by group). */
export const PEOPLE: Record<string, IdpUser> = {
  ada: { email: 'ada@example.com', email_verified: true, name: 'Ada Admin', groups: ['platform'] },
  nia: { email: 'nia@example.com', email_verified: true, name: 'Nia Netadmin', groups: ['netops'] },
  aud: { email: 'aud@example.com', email_verified: true, name: 'Aud Auditor', groups: ['security'] },
  mel: { email: 'mel@example.com', email_verified: true, name: 'Mel Member', groups: ['engineering'] },
};

export const CONSOLE_ROLES = {
  admin: { groups: ['platform'] },
  'network-admin': { users: ['nia@example.com'] },
  auditor: { groups: ['security'] },
};

/**
 * A real server with the test identity provider and the roles above, and Debian's chromium:
 * each person signs in through the provider's own pages in a browser of their own.
 */
export interface ConsoleLab {
  t: TestServer;
  idp: TestIdp;
  /** A new page in a fresh browser, signed in as `login` and showing the console. */
  signIn(login: keyof typeof PEOPLE, path?: string): Promise<Page>;
  /** A simulated agent joined with a pre-auth key (real keys and signed requests, no data plane). */
  join(name: string, opts?: { user?: string; tags?: string[]; routes?: string[] }): Promise<TestAgent>;
  close(): Promise<void>;
}

export async function startConsoleLab(): Promise<ConsoleLab> {
  let callbackUrl = '';
  const idp = await startTestIdp(PEOPLE, () => callbackUrl);
  const t = await startTestServer({ oidc: idpConfig(idp), console: { roles: CONSOLE_ROLES } });
  callbackUrl = `${t.url}/login/callback`;
  const browsers: Browser[] = [];
  const agents: TestAgent[] = [];
  return {
    t,
    idp,
    async signIn(login, path = '/console/') {
      const browser = await launchBrowser();
      browsers.push(browser);
      const page = await browser.context.newPage();
      await page.goto(t.url + path);
      await page.getByRole('link', { name: 'Sign in with test-idp' }).click();
      await page.locator('input[name="login"]').fill(login);
      await page.locator('input[name="password"]').fill('correct horse battery staple');
      await page.getByRole('button', { name: 'Sign-in' }).click();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL((u) => u.pathname.startsWith('/console/') && !u.pathname.startsWith('/console/login'));
      await page.locator('header .who').filter({ hasText: PEOPLE[login]!.name }).waitFor();
      return page;
    },
    async join(name, opts = {}) {
      const agent = new TestAgent(t.url, name);
      agents.push(agent);
      await agent.join(
        await t.preAuthKey({ ...(opts.user && { user: opts.user }), ...(opts.tags && { tags: opts.tags }) }),
        {
          ...(opts.routes && { advertiseRoutes: opts.routes }),
        },
      );
      return agent;
    },
    async close() {
      for (const a of agents) a.stop();
      for (const b of browsers) await b.close();
      await t.stop();
      await idp.close();
    },
  };
}

/** Answers the console's question before a change (a modal dialog) with its button `name`. */
export async function answerDialog(page: Page, name: string): Promise<void> {
  await page.getByRole('dialog').getByRole('button', { name, exact: true }).click();
  await page.getByRole('dialog').waitFor({ state: 'detached' });
}

/** Runs axe-core in the page (evaluated over the DevTools protocol, so the page's CSP stays as it is). */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8'));
  const result = (await page.evaluate(() =>
    (globalThis as unknown as { axe: { run(): Promise<unknown> } }).axe.run(),
  )) as { violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }> };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
