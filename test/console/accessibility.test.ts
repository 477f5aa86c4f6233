/**
 * Every console page, as an admin with a small network, checked by axe-core in Debian's
 * chromium: no serious or critical violation (labels, landmarks, contrast, ARIA). With
 * TRELLIS_CONSOLE_SCREENSHOTS=DIR the same visits save the screenshots shown in the README
 * (`TRELLIS_CONSOLE_SCREENSHOTS=docs/console npx vitest run test/console/accessibility.test.ts`).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, hasCommand } from '../support/prerequisites.ts';
import { seriousViolations, startConsoleLab, type ConsoleLab } from './console-harness.ts';

const POLICY = `{
  // Operators reach everything; web serves everyone; only web reaches the database.
  "groups": { "group:ops": ["ada@example.com", "nia@example.com"] },
  "tagOwners": { "tag:web": ["group:ops"], "tag:db": ["group:ops"], "tag:router": ["group:ops"] },
  "acls": [
    { "action": "accept", "src": ["group:ops"], "dst": ["*:*"] },
    { "action": "accept", "src": ["*"], "dst": ["tag:web:80,443"] },
    { "action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"] },
  ],
  "tests": [ { "src": "ada@example.com", "accept": ["tag:db:5432"] } ],
}
`;

const PAGES: Array<{ path: string; name: string; ready: (page: Page) => Promise<unknown> }> = [
  { path: '/machines', name: 'machines', ready: (p) => p.getByRole('link', { name: 'web-1' }).waitFor() },
  { path: '/machines/ID', name: 'machine', ready: (p) => p.getByRole('button', { name: 'Rename' }).waitFor() },
  { path: '/users', name: 'users', ready: (p) => p.getByText('mel@example.com').first().waitFor() },
  { path: '/access', name: 'access-policy', ready: (p) => p.getByText('The policy is valid').waitFor() },
  // The forms; their answers are checked in access-controls.test.ts.
  {
    path: '/access/explain?src=mel-laptop&dst=db-1&port=5432',
    name: 'access-explain',
    ready: (p) => p.getByRole('button', { name: 'Explain' }).waitFor(),
  },
  {
    path: '/access/preview?src=web-1',
    name: 'access-preview',
    ready: (p) => p.getByRole('button', { name: 'Preview' }).waitFor(),
  },
  { path: '/routes', name: 'routes', ready: (p) => p.getByText('10.20.0.0/24').waitFor() },
  { path: '/keys', name: 'keys', ready: (p) => p.getByRole('heading', { name: 'API keys' }).waitFor() },
  { path: '/audit', name: 'audit', ready: (p) => p.getByText('newest first').waitFor() },
];

describeWith([hasCommand('chromium')], 'console accessibility (axe-core in chromium)', () => {
  let lab: ConsoleLab;
  let page: Page;
  let webId = '';
  const shots = process.env.TRELLIS_CONSOLE_SCREENSHOTS;
  beforeAll(async () => {
    lab = await startConsoleLab();
    await lab.t.setPolicy(POLICY);
    (await lab.join('ada-laptop', { user: 'ada@example.com' })).connect();
    (await lab.join('mel-laptop', { user: 'mel@example.com' })).connect();
    const web = await lab.join('web-1', { tags: ['tag:web'] });
    web.connect();
    webId = web.node!.id;
    await lab.join('db-1', { tags: ['tag:db'] });
    const router = await lab.join('router-1', { tags: ['tag:router'], routes: ['10.20.0.0/24', '0.0.0.0/0', '::/0'] });
    router.connect();
    await lab.t.admin('POST', `/api/v1/nodes/${router.node!.id}/routes`, { routes: ['10.20.0.0/24'] });
    page = await lab.signIn('ada');
    if (shots) mkdirSync(shots, { recursive: true });
  }, 60_000);
  afterAll(() => lab?.close());

  for (const p of PAGES) {
    it(`${p.name}: no serious or critical violations`, async () => {
      await page.goto(`${lab.t.url}/console${p.path.replace('ID', webId)}`);
      await p.ready(page);
      expect(await seriousViolations(page)).toEqual([]);
      if (shots) await page.screenshot({ path: join(shots, `${p.name}.png`) });
    });
  }

  it('a question before a change holds focus in its dialog, cancels on Escape, and gives focus back', async () => {
    await page.goto(`${lab.t.url}/console/machines/${webId}`);
    const expire = page.getByRole('button', { name: 'Expire key' });
    await expire.click();
    const dialog = page.getByRole('dialog', { name: 'Expire the key of web-1?' });
    await dialog.waitFor();
    const focused = () =>
      page.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement
            .textContent,
      );
    expect(await focused()).toBe('Cancel');
    expect(await seriousViolations(page)).toEqual([]);
    // Tab stays inside the modal dialog.
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Expire key');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await focused()).toBe('Expire key');
    expect(await expire.isVisible()).toBe(true);
    const node = (await lab.t.server.store.nodes.list()).find((n) => n.id === webId)!;
    expect((node.expiresAt ?? Infinity) > Date.now()).toBe(true);
  });

  it('the sign-in page: no serious or critical violations', async () => {
    const fresh = await lab.signIn('mel');
    await fresh.getByRole('button', { name: 'Sign out' }).click();
    await fresh.getByRole('link', { name: 'Sign in with test-idp' }).waitFor();
    expect(await seriousViolations(fresh)).toEqual([]);
  });
});
