/**
 * `trellis policy eval|diff|compile` on the live network: the policy and topology read from a
 * real server (GET /api/v1/policy, /api/v1/policy/topology) instead of files.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { policyCommand, type CliIO } from '../../../../client/cli/policy/index.ts';
import { processIO } from '../../../../client/cli/policy/io.ts';
import { startTestServer, TestAgent, type TestServer } from '../../../support/server.ts';

// `*` as a source is the server's mesh ranges: right only if the topology carries them.
const LIVE = `{
  "tagOwners": {"tag:web": [], "tag:db": []},
  "acls": [
    {"action": "accept", "src": ["*"], "proto": "tcp", "dst": ["tag:web:80"]},
    {"action": "accept", "src": ["tag:web"], "proto": "tcp", "dst": ["tag:db:5432"]},
  ],
}
`;
const NEXT = LIVE.replace('"dst": ["tag:web:80"]', '"dst": ["tag:web:80,443"]').replace(
  '"src": ["tag:web"]',
  '"src": ["ops@example.com"]',
);

describe('trellis policy on the live network', () => {
  let t: TestServer;
  let readKey: string;
  let dir: string;
  let out: string[];
  let err: string[];
  const agents: TestAgent[] = [];
  const io: CliIO = {
    ...processIO,
    stdout: (s) => {
      out.push(s);
    },
    stderr: (s) => {
      err.push(s);
    },
  };
  const run = (...argv: string[]) => policyCommand([...argv, '--server', t.url, '--api-key', readKey], io);
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(async () => {
    t = await startTestServer({ network: { ipv4Prefix: '10.123.0.0/16', ipv6Prefix: 'fd00:123::/48' } });
    await t.setPolicy(LIVE);
    for (const [name, key] of [
      ['ops-laptop', await t.preAuthKey({ user: 'ops@example.com' })],
      ['web-1', await t.preAuthKey({ tags: ['tag:web'] })],
      ['db-1', await t.preAuthKey({ tags: ['tag:db'] })],
    ] as const) {
      const a = new TestAgent(t.url, name);
      agents.push(a);
      await a.join(key);
    }
    readKey = (await t.server.keys.createApiKey({ scopes: ['read'], description: 'live cli' })).secret;
  });
  afterAll(async () => {
    for (const a of agents) a.stop();
    await t?.stop();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-live-'));
    out = [];
    err = [];
  });

  it('eval: the live policy on the live network, 0 on accept and 1 on deny', async () => {
    expect(await run('eval', '--src', 'ops-laptop', '--dst', 'web-1:80'), err.join('\n')).toBe(0);
    expect(out.join('\n')).toMatch(/^accept: ops-laptop -> web-1:80\/tcp\n {2}allowed by .*policy version \d+:4:5: /);
    out = [];
    expect(await run('eval', '--src', 'ops-laptop', '--dst', 'db-1:5432')).toBe(1);
    expect(out.join('\n')).toMatch(/^deny: ops-laptop -> db-1:5432\/tcp/);
  });

  it('eval: a policy file on the live network', async () => {
    const next = file('next.hujson', NEXT);
    expect(await run('eval', '--policy', next, '--src', 'ops-laptop', '--dst', 'db-1:5432')).toBe(0);
    expect(out.join('\n')).toContain(`allowed by ${next}:5:5: `);
  });

  it('diff: against the live policy, recording its version, as Markdown naming who gains and loses', async () => {
    const version = (await t.admin<{ version: number }>('GET', '/api/v1/policy')).body.version;
    const recorded = join(dir, 'base-version');
    const code = await run('diff', file('next.hujson', NEXT), '--format', 'markdown', '--record-version', recorded);
    expect(code, err.join('\n')).toBe(0);
    const md = out.join('\n');
    expect(md).toContain(`Compared with the live policy (version ${version}) on 3 nodes.`);
    expect(md).toMatch(
      /#### Gained \(3\)(.|\n)*\| \*\*ops-laptop\*\* \(ops&#64;example\.com\) \| \*\*db-1\*\* \(tag:db\) \| 5432 \| tcp \|/,
    );
    expect(md).toContain('| **db-1** (tag:db) | **web-1** (tag:web) | 443 | tcp |');
    expect(md).toMatch(
      /#### Lost \(1\)(.|\n)*\| \*\*web-1\*\* \(tag:web\) \| \*\*db-1\*\* \(tag:db\) \| 5432 \| tcp \|/,
    );
    expect(readFileSync(recorded, 'utf8')).toBe(`${version}\n`);
  });

  it('diff --json names the live version it compared with; two files compare on the live topology', async () => {
    expect(await run('diff', file('next.hujson', NEXT), '--json')).toBe(0);
    const json = JSON.parse(out.join(''));
    expect(json.baseVersion).toBe((await t.admin<{ version: number }>('GET', '/api/v1/policy')).body.version);
    out = [];
    expect(await run('diff', file('a.hujson', LIVE), file('b.hujson', LIVE))).toBe(0);
    expect(out).toEqual(['no change in access']);
  });

  it('compile: every live node with its peers', async () => {
    expect(await run('compile')).toBe(0);
    expect(Object.keys(JSON.parse(out.join('')).nodes).sort()).toEqual(['db-1', 'ops-laptop', 'web-1']);
  });

  it('says what the server refused, and never invents a verdict', async () => {
    const policyOnly = (await t.server.keys.createApiKey({ scopes: ['policy'], description: 'no read' })).secret;
    const code = await policyCommand(
      ['eval', '--src', 'ops-laptop', '--dst', 'web-1:80', '--server', t.url, '--api-key', policyOnly],
      io,
    );
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/server refused \(403 api_key\.scope\)/);
    err = [];
    const unreachable = ['eval', '--src', 'a', '--dst', 'b:1', '--server', 'http://127.0.0.1:9', '--api-key', 'k'];
    expect(await policyCommand(unreachable, io)).toBe(2);
    expect(err.join('\n')).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});
