/**
 * Live updates in Debian's chromium: a joining agent appears, and an agent going offline shows,
 * on the machines page without a reload (server-sent events at GET /api/v1/console/events).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, hasCommand } from '../support/prerequisites.ts';
import { startConsoleLab, type ConsoleLab } from './console-harness.ts';

describeWith([hasCommand('chromium')], 'console live updates (chromium)', () => {
  let lab: ConsoleLab;
  let page: Page;
  beforeAll(async () => {
    lab = await startConsoleLab();
    (await lab.join('ada-laptop', { user: 'ada@example.com' })).connect();
    page = await lab.signIn('ada');
  }, 60_000);
  afterAll(() => lab?.close());

  const rows = () => page.getByRole('region', { name: 'Machines' }).locator('tbody tr[aria-rowindex]');
  const open = async (path: string) => {
    await page.goto(`${lab.t.url}/console${path}`);
    await expect.poll(() => page.locator('main h1').count()).toBe(1);
  };

  it('shows a joining agent, and an agent going offline, without a reload', async () => {
    await open('/machines');
    await expect.poll(() => page.locator('.live').textContent()).toBe('Live');
    const before = await rows().count();
    const agent = await lab.join('newcomer', { user: 'mel@example.com' });
    agent.connect();
    await expect.poll(() => rows().filter({ hasText: 'newcomer' }).count(), { timeout: 10_000 }).toBe(1);
    await expect
      .poll(() => rows().filter({ hasText: 'newcomer' }).textContent(), { timeout: 10_000 })
      .toContain('Online');
    agent.stop();
    await expect
      .poll(() => rows().filter({ hasText: 'newcomer' }).textContent(), { timeout: 15_000 })
      .toContain('Offline');
    expect(await rows().count()).toBe(before + 1);
  });
});
