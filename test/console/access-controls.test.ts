/**
 * Access controls in Debian's chromium: the policy editor shows the server's diagnostics at
 * their line, shows who gains and loses what before applying, applies over the version it
 * loaded and refuses to overwrite a newer one; history and revert; and preview and explain
 * give the same answers as `trellis policy eval` on the same network: the same verdict, the same
 * granting rules (line and column), the same router for an address behind a subnet router or an
 * exit node, the same reasons for a denial.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { policyCommand, type CliIO } from '../../client/cli/policy/index.ts';
import { processIO } from '../../client/cli/policy/io.ts';
import { describeWith, hasCommand } from '../support/prerequisites.ts';
import { answerDialog, startConsoleLab, type ConsoleLab } from './console-harness.ts';

const POLICY = `{
  "groups": { "group:ops": ["ada@example.com"] },
  "tagOwners": { "tag:web": [], "tag:db": [], "tag:router": [], "tag:exit": [] },
  "acls": [
    { "action": "accept", "src": ["group:ops"], "dst": ["tag:web:80,443"] },
    { "action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"] },
    { "action": "accept", "src": ["group:ops", "tag:web"], "dst": ["10.40.0.0/24:22"] },
    { "action": "accept", "src": ["group:ops"], "dst": ["autogroup:internet:443"] },
  ],
}
`;

describeWith([hasCommand('chromium')], 'console access controls (chromium)', () => {
  let lab: ConsoleLab;
  let page: Page;
  let readKey: string;
  beforeAll(async () => {
    lab = await startConsoleLab();
    await lab.t.setPolicy(POLICY);
    await lab.join('ops-laptop', { user: 'ada@example.com' });
    await lab.join('mel-laptop', { user: 'mel@example.com' });
    await lab.join('web-1', { tags: ['tag:web'] });
    await lab.join('db-1', { tags: ['tag:db'] });
    // Two routers for one prefix (the elected one carries it) and an exit node, all approved and online.
    for (const [name, tag, routes] of [
      ['router-b', 'tag:router', ['10.40.0.0/24']],
      ['router-a', 'tag:router', ['10.40.0.0/24']],
      ['exit-1', 'tag:exit', ['0.0.0.0/0', '::/0']],
    ] as const) {
      const agent = await lab.join(name, { tags: [tag], routes: [...routes] });
      await lab.t.admin('POST', `/api/v1/nodes/${agent.node!.id}/routes`, { routes });
      agent.connect();
    }
    readKey = (await lab.t.server.keys.createApiKey({ scopes: ['read'], description: 'eval' })).secret;
    page = await lab.signIn('ada', '/console/access');
  }, 60_000);
  afterAll(() => lab?.close());

  const editor = () => page.getByLabel('Policy (HuJSON)');
  const open = async (path: string) => {
    await page.goto(`${lab.t.url}/console${path}`);
    await expect.poll(() => page.locator('main h2').count()).toBeGreaterThan(0);
  };
  /**
   * `trellis policy eval` against the same server: its exit status, what it printed, and the
   * rules it says allow the connection. The CLI names the live policy by server and version where
   * the server names it by its file: the one is written as the other here, so that positions
   * compare whole.
   */
  const cliEval = async (src: string, dst: string, port: number) => {
    const out: string[] = [];
    const io: CliIO = { ...processIO, stdout: (s) => void out.push(s), stderr: (s) => void out.push(s) };
    const status = await policyCommand(
      ['eval', '--src', src, '--dst', `${dst}:${port}`, '--server', lab.t.url, '--api-key', readKey],
      io,
    );
    const text = out.join('').replace(new RegExp(`${lab.t.url} policy version \\d+`, 'g'), 'policy.hujson');
    return { status, text, rules: [...text.matchAll(/allowed by (\S+:\d+:\d+):/g)].map((m) => m[1]!).sort() };
  };

  it('a policy with an error shows the server diagnostic at its line and column', async () => {
    await open('/access');
    await expect.poll(() => editor().inputValue()).toBe(POLICY);
    const broken = POLICY.replace('"src": ["tag:web"]', '"src": ["group:nobody"]');
    await editor().fill(broken);
    const check = await lab.t.admin<{ details: Array<{ where: string; message: string }> }>(
      'POST',
      '/api/v1/policy/check',
      { policy: broken },
    );
    const [, line, column] = /:(\d+):(\d+)$/.exec(check.body.details[0]!.where)!;
    expect(Number(line)).toBe(broken.split('\n').findIndex((l) => l.includes('group:nobody')) + 1);
    const problem = page.getByRole('button', { name: `Line ${line}, column ${column}` });
    await expect.poll(() => problem.count()).toBe(1);
    expect(await page.locator('.diagnostics li').first().textContent()).toContain('policy.unknown_group');
    expect(await page.locator('.gutter .problem').allTextContents()).toEqual([line]);
    expect(await page.getByRole('button', { name: /Apply/ }).isDisabled()).toBe(true);
    // Following the diagnostic puts the cursor on the problem.
    await problem.click();
    const selected = await editor().evaluate((el) => {
      const area = el as unknown as { value: string; selectionStart: number };
      return area.value.slice(area.selectionStart, area.selectionStart + 14);
    });
    expect(broken.split('\n')[Number(line) - 1]!.slice(Number(column) - 1)).toContain(selected);
  });

  it('shows the access diff before applying, applies over the loaded version, and refuses a stale one', async () => {
    await open('/access');
    await expect.poll(() => editor().inputValue()).toBe(POLICY);
    const widened = POLICY.replace('"dst": ["tag:web:80,443"]', '"dst": ["tag:web:80,443", "tag:db:5432"]');
    await editor().fill(widened);
    await expect.poll(() => page.getByText('The policy is valid').count()).toBe(1);
    await page.getByRole('button', { name: 'Review access changes' }).click();
    const gains = page.getByRole('table').filter({ hasText: 'Gains' });
    await expect.poll(() => gains.textContent()).toContain('ops-laptop');
    expect(await gains.textContent()).toContain('db-1');
    const version = (await lab.t.admin<{ version: number }>('GET', '/api/v1/policy')).body.version;
    await page.getByRole('button', { name: `Apply version ${version + 1}` }).click();
    await expect.poll(() => page.getByText(`Applied as version ${version + 1}.`).count()).toBe(1);
    const applied = (await lab.t.admin<{ version: number; text: string; author: string }>('GET', '/api/v1/policy'))
      .body;
    expect(applied).toMatchObject({ version: version + 1, text: widened, author: 'ada@example.com' });

    // Someone else applies in between: the console's apply is refused and nothing is overwritten.
    await editor().fill(widened.replace('5432', '5433'));
    await lab.t.setPolicy(POLICY);
    await expect.poll(() => page.getByText('The policy is valid').count()).toBe(1);
    await page.getByRole('button', { name: 'Review access changes' }).click();
    await page.getByRole('button', { name: /^Apply version/ }).click();
    await expect.poll(() => page.getByText(/Someone applied another version/).count()).toBe(1);
    expect((await lab.t.admin<{ text: string }>('GET', '/api/v1/policy')).body.text).toBe(POLICY);
  });

  it('version history names author and time, shows each change, and reverts', async () => {
    await open('/access/history');
    const rows = page.getByRole('table').filter({ hasText: 'Policy versions' }).locator('tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(3);
    expect(await rows.allTextContents()).toContainEqual(expect.stringContaining('ada@example.com'));
    const byAda = rows.filter({ hasText: 'ada@example.com' }).first();
    const version = Number(/^(\d+)/.exec((await byAda.locator('th').textContent())!)![1]);
    await byAda.getByRole('button', { name: `Show changes in version ${version}` }).click();
    const diff = page.getByLabel(`Changes in version ${version}`);
    await expect
      .poll(() => diff.locator('.added').allTextContents())
      .toContainEqual(expect.stringContaining('tag:db:5432'));
    const before = (await lab.t.admin<{ version: number }>('GET', '/api/v1/policy')).body.version;
    await byAda.getByRole('button', { name: `Revert to version ${version}` }).click();
    await answerDialog(page, `Revert to version ${version}`);
    await expect.poll(() => page.getByText(`Reverted to version ${version}`).count()).toBe(1);
    const now = (await lab.t.admin<{ version: number; text: string }>('GET', '/api/v1/policy')).body;
    expect(now.version).toBe(before + 1);
    expect(now.text).toContain('"dst": ["tag:web:80,443", "tag:db:5432"]');
    await lab.t.setPolicy(POLICY);
  });

  it('explain answers as trellis policy eval does: verdict, rules, router and reasons', async () => {
    await open('/access/explain');
    for (const [src, dst, port] of [
      ['ops-laptop', 'web-1', 443],
      ['ops-laptop', 'web-1', 22],
      ['mel-laptop', 'web-1', 80],
      ['web-1', 'db-1', 5432],
      ['db-1', 'web-1', 80],
      ['ops-laptop', '10.40.0.9', 22],
      ['web-1', '10.40.0.9', 22],
      ['mel-laptop', '10.40.0.9', 22],
      ['ops-laptop', '10.40.0.9', 80],
      ['ops-laptop', '93.184.216.34', 443],
      ['web-1', '93.184.216.34', 443],
      ['ops-laptop', '10.99.0.1', 22],
    ] as const) {
      await page.getByLabel('From machine').fill(src);
      await page.getByLabel('To machine or address').fill(dst);
      await page.getByLabel('Port').fill(String(port));
      await page.getByRole('button', { name: 'Explain' }).click();
      const verdict = page.locator('.verdict');
      await expect.poll(() => verdict.textContent()).toContain(`${src} → ${dst}:${port}/tcp`);
      const cli = await cliEval(src, dst, port);
      const what = `${src} -> ${dst}:${port}: ${cli.text}`;
      const shown = (await verdict.textContent())!;
      expect(shown.startsWith(cli.status === 0 ? 'Yes' : 'No'), what).toBe(true);
      expect((await verdict.locator('li code').allTextContents()).sort(), what).toEqual(cli.rules);
      if (cli.status === 0) expect(cli.rules.length, what).toBeGreaterThan(0);
      const via = /via (?:router|exit node) (\S+) \(([^)]+)\)/.exec(cli.text.split('\n')[0]!);
      const carried = (await verdict.locator('.via').count()) ? await verdict.locator('.via').textContent() : null;
      expect(carried && /carried by .* (\S+) \(([^)]+)\)/.exec(carried.replace(/\s+/g, ' '))?.slice(1), what).toEqual(
        via?.slice(1) ?? null,
      );
      for (const reason of await verdict.locator('li:not(:has(code))').allTextContents())
        expect(cli.text, what).toContain(reason);
    }
  });

  it('preview lists what a source reaches, each with its rule, as trellis policy eval accepts it', async () => {
    await open('/access/preview?src=ops-laptop');
    await page.getByRole('button', { name: 'Preview' }).click();
    const table = page.getByRole('table').filter({ hasText: 'can reach' });
    await expect.poll(() => table.locator('tbody tr').count()).toBeGreaterThan(0);
    const reached = await table
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) =>
          Array.from((tr as unknown as { cells: ArrayLike<{ textContent: string }> }).cells, (c) => c.textContent),
        ),
      );
    expect(reached.map((r) => r[0])).toContain('web-1');
    expect(reached.map((r) => r[0])).not.toContain('db-1');
    for (const [dst, ports, , rule] of reached) {
      const port = Number(/\d+/.exec(ports!)![0]);
      const cli = await cliEval('ops-laptop', dst!, port);
      expect(cli.status, `${dst}:${port}: ${cli.text}`).toBe(0);
      expect(cli.rules.length).toBeGreaterThan(0);
      for (const at of cli.rules) expect(rule, `${dst}:${port}: ${cli.text}`).toContain(at);
    }
    expect((await cliEval('ops-laptop', 'db-1', 5432)).status).toBe(1);
  });
});
