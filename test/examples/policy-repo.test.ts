/**
 * examples/policy-repo: its CI steps (ci/policy-ci.sh, which the GitHub workflow runs too) against
 * a real server: check on a pull request, the access diff against the live network as Markdown,
 * apply on merge, and apply refused when the server's policy moved after the diff.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startTestServer, TestAgent, type TestServer } from '../support/server.ts';

const EXAMPLE = resolve('examples/policy-repo');
const TRELLIS = `${process.execPath} ${resolve('bin/trellis.js')}`;
const SHIPPED = readFileSync(join(EXAMPLE, 'policy.hujson'), 'utf8');

interface Step {
  code: number;
  stdout: string;
  stderr: string;
}

describe('the policy repository example', () => {
  let t: TestServer;
  let ciKey: string;
  let repo: string;
  const agents: TestAgent[] = [];

  /** Runs one CI step in the copied repository, as a CI system would. */
  async function step(name: string, env: Record<string, string> = {}): Promise<Step> {
    try {
      const { stdout, stderr } = await promisify(execFile)('bash', ['ci/policy-ci.sh', name], {
        cwd: repo,
        env: { PATH: process.env.PATH, TRELLIS, TRELLIS_SERVER: t.url, TRELLIS_API_KEY: ciKey, ...env },
      });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  }
  const edit = (text: string) => writeFileSync(join(repo, 'policy.hujson'), text);
  const live = async () => (await t.admin<{ version: number; text: string }>('GET', '/api/v1/policy')).body;

  beforeAll(async () => {
    t = await startTestServer();
    await t.setPolicy(SHIPPED); // the repository and the server agree before the first pull request
    for (const [name, key] of [
      ['alice-laptop', await t.preAuthKey({ user: 'alice@example.com' })],
      ['carol-laptop', await t.preAuthKey({ user: 'carol@example.com' })],
      ['web-1', await t.preAuthKey({ tags: ['tag:web'] })],
      ['db-1', await t.preAuthKey({ tags: ['tag:db'] })],
    ] as const) {
      const a = new TestAgent(t.url, name);
      agents.push(a);
      await a.join(key);
    }
    ciKey = (await t.server.keys.createApiKey({ scopes: ['read', 'policy'], description: 'policy repo CI' })).secret;
    repo = mkdtempSync(join(tmpdir(), 'trellis-policy-repo-'));
    cpSync(EXAMPLE, repo, { recursive: true });
  });
  afterAll(async () => {
    for (const a of agents) a.stop();
    await t?.stop();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('check passes on the shipped policy, whose tests pass', async () => {
    const r = await step('check');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^policy\.hujson: ok \(5 rules, 4 tests passed\)/);
  });

  it('check fails a change that breaks one of the policy tests, naming FILE:LINE:COL', async () => {
    edit(
      SHIPPED.replace(
        '"src": ["tag:web"], "proto": "tcp", "dst": ["tag:db:5432"]',
        '"src": ["tag:web"], "proto": "tcp", "dst": ["tag:db:5433"]',
      ),
    );
    const r = await step('check');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^policy\.hujson:\d+:\d+: test failed: tag:web should reach tag:db:5432/m);
    edit(SHIPPED);
  });

  it('diff names who gains and who loses on the live network, and records the live version', async () => {
    // The pull request: engineers get the database; SRE no longer logs in to the web tier.
    edit(
      SHIPPED.replace('"dst": ["tag:web:443"]', '"dst": ["tag:web:443", "tag:db:5432"]')
        .replace('"deny": ["tag:db:5432", "tag:web:22"]', '"deny": ["tag:web:22"]')
        .replace('"dst": ["tag:web:22", "tag:db:22"]', '"dst": ["tag:db:22"]')
        .replace('"accept": ["tag:web:22", "tag:db:22"]', '"accept": ["tag:db:22"]'),
    );
    expect((await step('check')).code).toBe(0);
    const r = await step('diff');
    expect(r.code, r.stderr).toBe(0);
    const md = readFileSync(join(repo, '.trellis-ci/diff.md'), 'utf8');
    expect(r.stdout).toBe(md);
    const { version } = await live();
    expect(md).toContain(
      `### Access: 1 gained, 1 lost\n\nCompared with the live policy (version ${version}) on 4 nodes.`,
    );
    expect(md).toMatch(
      /#### Gained \(1\)\n(.|\n)*\| \*\*alice-laptop\*\* \(alice&#64;example\.com\) \| \*\*db-1\*\* \(tag:db\) \| 5432 \| tcp \|/,
    );
    expect(md).toMatch(
      /#### Lost \(1\)\n(.|\n)*\| \*\*carol-laptop\*\* \(carol&#64;example\.com\) \| \*\*web-1\*\* \(tag:web\) \| 22 \| tcp \|/,
    );
    expect(readFileSync(join(repo, '.trellis-ci/base-version'), 'utf8')).toBe(`${version}\n`);
  });

  it('apply on merge uploads the reviewed policy', async () => {
    const before = await live();
    const r = await step('apply');
    expect(r.code, r.stderr).toBe(0);
    const after = await live();
    expect(after.text).toBe(readFileSync(join(repo, 'policy.hujson'), 'utf8'));
    expect(after.version).toBe(before.version + 1);
    expect(r.stdout).toContain(`policy.hujson: applied as version ${after.version} (was ${before.version})`);
  });

  it('apply refuses when the server policy changed after the diff, and changes nothing', async () => {
    edit(readFileSync(join(repo, 'policy.hujson'), 'utf8').replace('"dst": ["*:9100"]', '"dst": ["*:9100", "*:9200"]'));
    expect((await step('diff')).code).toBe(0);
    // Meanwhile, someone changes the policy on the server directly.
    const concurrent = SHIPPED.replace('"dst": ["tag:web:443"]', '"dst": ["tag:web:443,8443"]');
    await t.setPolicy(concurrent);
    const moved = await live();

    const r = await step('apply');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('server refused (409 policy.version_conflict)');
    expect(r.stderr).toContain(
      "nothing was applied: the server's policy changed since the version this change was reviewed against",
    );
    expect(await live()).toEqual(moved);
    expect((await live()).text).toBe(concurrent);
  });

  it('apply without a reviewed version refuses to guess', async () => {
    rmSync(join(repo, '.trellis-ci'), { recursive: true, force: true });
    const r = await step('apply');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no reviewed base version: run the diff step first');
  });

  it('the GitHub workflow runs the same steps, and applies with the version from its own comment', () => {
    const workflow = parseYaml(readFileSync(join(EXAMPLE, '.github/workflows/policy.yml'), 'utf8'));
    const runs = (job: string): string[] =>
      workflow.jobs[job].steps.map((s: { run?: string }) => s.run).filter((r: unknown) => typeof r === 'string');
    expect(runs('review')).toEqual(expect.arrayContaining(['ci/policy-ci.sh check', 'ci/policy-ci.sh diff']));
    expect(runs('apply')).toEqual(expect.arrayContaining([expect.stringMatching(/^ci\/policy-ci\.sh apply/)]));
    expect(runs('apply').join('\n')).toContain('TRELLIS_BASE_VERSION=');
    expect(runs('apply').join('\n')).toContain('github-actions[bot]');
    expect(workflow.on.pull_request.types).toEqual(['opened', 'synchronize', 'reopened', 'closed']);
  });
});
