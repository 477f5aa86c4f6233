/**
 * The operator's pages in Debian's chromium, signed in as an admin: machines (search, filter,
 * detail, rename, tag, approve routes, expire, delete), live updates as agents join and leave,
 * users and groups, keys, routes and the audit log. Each action is checked on the server.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, hasCommand } from '../support/prerequisites.ts';
import type { TestAgent } from '../support/server.ts';
import { answerDialog, startConsoleLab, type ConsoleLab } from './console-harness.ts';

const POLICY = `{
  "tagOwners": { "tag:web": [], "tag:router": [] },
  "acls": [ { "action": "accept", "src": ["*"], "dst": ["*:*"] } ],
}`;

describeWith([hasCommand('chromium')], 'console machines, users, keys, routes and audit (chromium)', () => {
  let lab: ConsoleLab;
  let page: Page;
  let router: TestAgent;
  beforeAll(async () => {
    lab = await startConsoleLab();
    await lab.t.setPolicy(POLICY);
    const laptop = (await lab.join('ada-laptop', { user: 'ada@example.com' })).connect();
    await laptop.until((a) => a.stream!.reportPaths({ direct: 2, relay: 1, none: 0 }), 'the laptop reports its paths');
    (await lab.join('mel-desktop', { user: 'mel@example.com' })).connect();
    await lab.join('web-1', { tags: ['tag:web'] });
    router = await lab.join('router-1', { tags: ['tag:router'], routes: ['10.20.0.0/24'] });
    router.connect();
    page = await lab.signIn('ada');
  }, 60_000);
  afterAll(() => lab?.close());

  const node = async (name: string) => (await lab.t.server.store.nodes.list()).find((n) => n.name === name);
  const rows = () => page.getByRole('region', { name: 'Machines' }).locator('tbody tr[aria-rowindex]');
  const open = async (path: string) => {
    await page.goto(`${lab.t.url}/console${path}`);
    await expect.poll(() => page.locator('main h1').count()).toBe(1);
  };

  it('lists every machine with its owner, addresses and state, and searches and filters them', async () => {
    await open('/machines');
    await expect.poll(() => rows().count()).toBe(4);
    const laptop = rows().filter({ hasText: 'ada-laptop' });
    const record = (await node('ada-laptop'))!;
    expect(await laptop.textContent()).toContain('ada@example.com');
    expect(await laptop.textContent()).toContain(record.ipv4);
    await expect.poll(() => laptop.textContent()).toContain('Online');
    expect(await laptop.textContent()).toContain('2 direct, 1 relay');
    expect(await rows().filter({ hasText: 'web-1' }).textContent()).toContain('tag:web');
    expect(await rows().filter({ hasText: 'router-1' }).textContent()).toContain('0/1 approved');

    await page.getByLabel('Search').fill('mel');
    await expect.poll(() => rows().count()).toBe(1);
    expect(await page.locator('.count').textContent()).toBe('1 of 4 machines');
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Show').selectOption('offline');
    await expect.poll(() => rows().allTextContents()).toEqual([expect.stringContaining('web-1')]);
    await page.getByLabel('Show').selectOption('pending-routes');
    await expect.poll(() => rows().allTextContents()).toEqual([expect.stringContaining('router-1')]);
  });

  it('a machine page renames, tags and approves routes', async () => {
    await open('/machines');
    await page.getByRole('link', { name: 'router-1' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('router-1');
    await page.getByLabel('10.20.0.0/24').check();
    await page.getByRole('button', { name: 'Save routes' }).click();
    await expect.poll(async () => (await node('router-1'))?.approvedRoutes).toEqual(['10.20.0.0/24']);

    await page.getByLabel(/^Tags/).fill('tag:router, tag:web');
    await page.getByRole('button', { name: 'Save tags' }).click();
    await expect.poll(async () => (await node('router-1'))?.tags).toEqual(['tag:router', 'tag:web']);

    await page.getByLabel('Machine name').fill('gateway-1');
    await page.getByRole('button', { name: 'Rename' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('gateway-1');
    expect(await node('gateway-1')).toBeDefined();
  });

  it('a machine page expires the key and deletes the machine', async () => {
    await open('/machines');
    await page.getByRole('link', { name: 'web-1' }).click();
    await page.getByRole('button', { name: 'Expire key' }).click();
    await answerDialog(page, 'Expire key');
    await expect.poll(async () => ((await node('web-1'))?.expiresAt ?? Infinity) <= Date.now()).toBe(true);
    await page.getByRole('button', { name: 'Delete machine' }).click();
    await answerDialog(page, 'Delete machine');
    await page.waitForURL((u) => u.pathname === '/console/machines');
    expect(await node('web-1')).toBeUndefined();
  });

  it("users and groups: each user's provider groups and machines; expiring a user's machines", async () => {
    await open('/users');
    const mel = page.getByRole('row').filter({ hasText: 'mel@example.com' }).first();
    await expect.poll(() => mel.textContent()).toContain('mel-desktop');
    await page.getByRole('button', { name: 'Expire machines of mel@example.com' }).click();
    await answerDialog(page, 'Expire machines');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Expired' }).count()).toBe(1);
    const melNodes = (await lab.t.server.store.nodes.list()).filter((n) => n.name === 'mel-desktop');
    expect(melNodes.every((n) => (n.expiresAt ?? Infinity) <= Date.now())).toBe(true);
  });

  it('keys: a pre-auth key shows its secret once, joins a machine, and is revoked', async () => {
    await open('/keys');
    await page.getByLabel('User (email)').fill('ada@example.com');
    await page.getByLabel('Description').first().fill('from the console');
    await page.getByRole('button', { name: 'Create pre-auth key' }).click();
    const secret = await page.getByLabel('Secret').inputValue();
    expect(secret).toMatch(/^trellis-auth-/);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    expect(await page.content()).not.toContain(secret);
    const row = page.getByRole('row').filter({ hasText: 'from the console' });
    await expect.poll(() => row.textContent()).toContain('active');

    const keyId = (await row.locator('th').textContent())!;
    await row.getByRole('button', { name: `Revoke ${keyId}` }).click();
    await answerDialog(page, 'Revoke');
    await expect.poll(() => row.textContent()).toContain('revoked');
    expect((await lab.t.server.store.preAuthKeys.list()).find((k) => k.id === keyId)?.revokedAt).toBeDefined();
  });

  it('keys: an API key with chosen scopes shows its secret once, works, and is revoked', async () => {
    await open('/keys');
    await page.getByRole('form', { name: 'Create an API key' }).getByLabel('Description').fill('ci pipeline');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const secret = await page.getByLabel('Secret').inputValue();
    const call = () => fetch(`${lab.t.url}/api/v1/nodes`, { headers: { authorization: `Bearer ${secret}` } });
    expect((await call()).status).toBe(200);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    const row = page.getByRole('row').filter({ hasText: 'ci pipeline' });
    const keyId = (await row.locator('th').textContent())!;
    await row.getByRole('button', { name: `Revoke ${keyId}` }).click();
    await answerDialog(page, 'Revoke');
    await expect.poll(() => row.textContent()).toContain('revoked');
    expect((await call()).status).toBe(401);
  });

  it('routes: every prefix with its routers and which one is primary', async () => {
    await open('/routes');
    const prefix = page.getByRole('row').filter({ hasText: '10.20.0.0/24' });
    await expect.poll(() => prefix.textContent()).toContain('gateway-1');
  });

  it('the audit log filters by kind and shows what the admin did here, by name', async () => {
    await open('/audit');
    await page.getByLabel('Kind').selectOption('admin');
    await page.getByRole('button', { name: 'Filter' }).click();
    const table = page.getByRole('table').filter({ hasText: 'newest first' });
    await expect.poll(() => table.textContent()).toContain('rename');
    const kinds = await table.locator('tbody tr td:nth-child(3)').allTextContents();
    expect(new Set(kinds)).toEqual(new Set(['admin']));
    expect(await table.locator('tbody tr td:nth-child(2)').allTextContents()).toContain('ada@example.com');
  });
});
