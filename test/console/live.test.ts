/**
 * Live updates in Debian's chromium: a joining agent appears, and an agent going offline shows,
 * on the machines page without a reload (server-sent events at GET /api/v1/console/events).
 * Each event patches the one machine it names: the list itself is fetched again only when the
 * event stream broke and came back (it may have missed events). The machine's own page, the
 * users page and the routes page follow the same events: a route moving to another router shows
 * on the routes page as it happens.
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
    await lab.t.setPolicy(`{
      "tagOwners": { "tag:router": [] },
      "acls": [ { "action": "accept", "src": ["*"], "dst": ["*:*"] } ],
    }`);
    (await lab.join('ada-laptop', { user: 'ada@example.com' })).connect();
    page = await lab.signIn('ada');
    countListLoads(page);
  }, 60_000);
  afterAll(() => lab?.close());

  /** GET /api/v1/nodes (the whole list) since the last `listLoads.reset()`. */
  const listLoads = {
    count: 0,
    reset() {
      this.count = 0;
    },
  };
  const countListLoads = (p: Page) =>
    p.on('request', (r) => {
      if (r.method() === 'GET' && new URL(r.url()).pathname === '/api/v1/nodes') listLoads.count++;
    });

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

  it("updates a machine's path column when only its path counts change, without loading the list", async () => {
    await open('/machines');
    await expect.poll(() => page.locator('.live').textContent()).toBe('Live');
    const agent = (await lab.join('pathfinder', { user: 'mel@example.com' })).connect();
    const row = () => rows().filter({ hasText: 'pathfinder' });
    await expect.poll(() => row().textContent(), { timeout: 10_000 }).toContain('Online');
    listLoads.reset();
    agent.stream!.reportPaths({ direct: 0, relay: 3, none: 0 });
    await expect.poll(() => row().locator('td').nth(6).textContent(), { timeout: 10_000 }).toBe('relay');
    agent.stream!.reportPaths({ direct: 2, relay: 1, none: 0 });
    await expect.poll(() => row().locator('td').nth(6).textContent(), { timeout: 10_000 }).toBe('2 direct, 1 relay');
    expect(listLoads.count).toBe(0);
    agent.stop();
  });

  it('changes only the row of a machine going offline, and drops a removed one, without loading the list', async () => {
    await open('/machines');
    await expect.poll(() => page.locator('.live').textContent()).toBe('Live');
    const agent = await lab.join('fleeting', { user: 'mel@example.com' });
    agent.connect();
    const row = () => rows().filter({ hasText: 'fleeting' });
    await expect.poll(() => row().textContent(), { timeout: 10_000 }).toContain('Online');
    const before = await rows().count();
    listLoads.reset();

    agent.stop();
    await expect.poll(() => row().textContent(), { timeout: 15_000 }).toContain('Offline');
    expect(await rows().count()).toBe(before);

    const node = (await lab.t.server.store.nodes.list()).find((n) => n.name === 'fleeting')!;
    expect((await lab.t.admin('DELETE', `/api/v1/nodes/${node.id}`)).status).toBe(204);
    await expect.poll(() => row().count(), { timeout: 10_000 }).toBe(0);
    expect(await rows().count()).toBe(before - 1);
    expect(listLoads.count).toBe(0);
  });

  /** Marks the document, so a check after the change can tell it was not loaded again. */
  const markDocument = () => page.evaluate(() => ((globalThis as { liveMark?: number }).liveMark = 1));
  const sameDocument = () => page.evaluate(() => (globalThis as { liveMark?: number }).liveMark === 1);

  it("a machine's own page shows it going offline, and its new name, without a reload", async () => {
    const agent = (await lab.join('detail-me', { user: 'mel@example.com' })).connect();
    await agent.until((a) => a.map.self !== undefined, 'the first map');
    await open(`/machines/${agent.node!.id}`);
    await markDocument();
    const status = () => page.locator('dl.facts div').filter({ hasText: 'Status' }).textContent();
    await expect.poll(status, { timeout: 10_000 }).toContain('online');
    agent.stop();
    await expect.poll(status, { timeout: 15_000 }).toContain('offline');
    await lab.t.admin('POST', `/api/v1/nodes/${agent.node!.id}/rename`, { name: 'detail-renamed' });
    await expect.poll(() => page.locator('main h1').textContent(), { timeout: 10_000 }).toBe('detail-renamed');
    await lab.t.admin('DELETE', `/api/v1/nodes/${agent.node!.id}`);
    await expect.poll(() => page.getByText('This machine was removed').count(), { timeout: 10_000 }).toBe(1);
    expect(await sameDocument()).toBe(true);
  });

  it("the users page shows a new user's machine joining, and the user, without a reload", async () => {
    await open('/users');
    await markDocument();
    const users = page.getByRole('table').filter({ hasText: 'Users (' });
    await expect.poll(() => users.textContent()).toContain('ada@example.com');
    const agent = await lab.join('nia-box', { user: 'nia@example.com' });
    agent.connect();
    const row = () => users.locator('tbody tr').filter({ hasText: 'nia@example.com' });
    await expect.poll(() => row().textContent(), { timeout: 10_000 }).toContain('nia-box');
    expect(await sameDocument()).toBe(true);
  });

  it('the routes page shows a route moving to the standby when its primary goes offline, without a reload', async () => {
    const prefix = '10.30.0.0/24';
    const first = await lab.join('router-a', { tags: ['tag:router'], routes: [prefix] });
    const second = await lab.join('router-b', { tags: ['tag:router'], routes: [prefix] });
    for (const r of [first, second]) {
      expect((await lab.t.admin('POST', `/api/v1/nodes/${r.node!.id}/routes`, { routes: [prefix] })).status).toBe(200);
      r.connect();
    }
    await open('/routes');
    await markDocument();
    const primary = () => page.getByRole('row').filter({ hasText: prefix }).locator('td').first().textContent();
    await expect.poll(primary, { timeout: 10_000 }).toMatch(/^router-[ab]/);
    const was = (await primary())!.startsWith('router-a') ? first : second;
    const standby = was === first ? 'router-b' : 'router-a';
    was.stop();
    await expect.poll(primary, { timeout: 15_000 }).toMatch(new RegExp(`^${standby}`));
    expect(await sameDocument()).toBe(true);
  });

  it('loads the list again, once, when the event stream ends and reopens (events may have been missed)', async () => {
    // The first stream the page opens ends at once (asking to be retried within 100 ms), as a
    // dropped connection would; every later one is the server's own.
    let streams = 0;
    await page.route('**/api/v1/console/events', (r) =>
      ++streams === 1
        ? r.fulfill({ status: 200, contentType: 'text/event-stream', body: 'retry: 100\n: connected\n\n' })
        : r.continue(),
    );
    listLoads.reset();
    await open('/machines');
    await expect.poll(() => streams, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.locator('.live').textContent(), { timeout: 10_000 }).toBe('Live');
    await expect.poll(() => listLoads.count, { timeout: 5_000 }).toBe(2); // the page's own load, and the reopen's
    await page.waitForTimeout(500);
    expect(listLoads.count).toBe(2);
    await page.unroute('**/api/v1/console/events');
  });
});
