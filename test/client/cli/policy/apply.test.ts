/** `trellis policy apply`: uploads a checked policy to a running server, never over someone else's change. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { policyCommand, type CliIO } from '../../../../client/cli/policy/index.ts';
import { processIO } from '../../../../client/cli/policy/io.ts';
import { startTestServer, type TestServer } from '../../../support/server.ts';

const V1 = `{
  "tagOwners": {"tag:web": ["alice@example.com"]},
  "acls": [{"action": "accept", "src": ["alice@example.com"], "dst": ["tag:web:443"]}],
}
`;
const V2 = V1.replace('tag:web:443', 'tag:web:80,443');

describe('trellis policy apply', () => {
  let t: TestServer;
  let dir: string;
  let out: string[];
  let err: string[];
  const io: CliIO = {
    ...processIO,
    stdout: (s) => {
      out.push(s);
    },
    stderr: (s) => {
      err.push(s);
    },
  };
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const run = (...argv: string[]) => policyCommand(['apply', ...argv, '--server', t.url, '--api-key', t.adminKey], io);
  const active = async () => (await t.admin<{ version: number; text: string }>('GET', '/api/v1/policy')).body;

  beforeEach(async () => {
    t = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'trellis-apply-'));
    out = [];
    err = [];
  });
  afterEach(async () => {
    await t.stop();
  });

  it('applies a valid policy and reports the new version', async () => {
    const before = (await active()).version;
    expect(await run(file('p.hujson', V1))).toBe(0);
    const now = await active();
    expect(now.text).toBe(V1);
    expect(now.version).toBeGreaterThan(before);
    expect(out.join('\n')).toMatch(new RegExp(`applied as version ${now.version}`));
  });

  it('refuses when the live policy is not the reviewed base, and changes nothing', async () => {
    await t.setPolicy(V1);
    const base = file('base.hujson', V1.replace('443', '8443')); // not what the server has
    const version = (await active()).version;
    expect(await run(file('p.hujson', V2), '--base', base)).toBe(1);
    expect(err.join('\n')).toMatch(/changed outside this review/);
    expect((await active()).version).toBe(version);
  });

  it('applies when the live policy is the reviewed base', async () => {
    await t.setPolicy(V1);
    expect(await run(file('p.hujson', V2), '--base', file('base.hujson', V1))).toBe(0);
    expect((await active()).text).toBe(V2);
  });

  it('refuses a stale --if-version with the server conflict', async () => {
    await t.setPolicy(V1);
    const stale = (await active()).version - 1;
    expect(await run(file('p.hujson', V2), '--if-version', String(stale))).toBe(1);
    expect(err.join('\n')).toMatch(/409 policy.version_conflict/);
    expect((await active()).text).toBe(V1);
  });

  it('stops at local problems with FILE:LINE:COL and uploads nothing', async () => {
    const version = (await active()).version;
    const bad = file('bad.hujson', '{\n  "acls": [{"action": "accept", "src": ["group:nope"], "dst": ["*:*"]}],\n}\n');
    expect(await run(bad)).toBe(1);
    expect(err.join('\n')).toMatch(new RegExp(`${bad.replace(/[.]/g, '\\.')}:2:\\d+: .*group:nope`));
    expect((await active()).version).toBe(version);
  });

  it("finds the local server's admin key as trellis-server does: --data-dir/admin-api-key", async () => {
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'admin-api-key'), `${t.adminKey}\n`);
    const p = file('p.hujson', V1);
    expect(await policyCommand(['apply', p, '--server', t.url, '--data-dir', join(dir, 'data')], io)).toBe(0);
    expect((await active()).text).toBe(V1);
  });

  it('without a key says where it looked, and uploads nothing', async () => {
    const version = (await active()).version;
    const empty = join(dir, 'no-data');
    expect(await policyCommand(['apply', file('p.hujson', V1), '--server', t.url, '--data-dir', empty], io)).toBe(2);
    expect(err.join('\n')).toContain(
      `no API key: pass --api-key, set TRELLIS_API_KEY, or run where ${join(empty, 'admin-api-key')} exists`,
    );
    expect((await active()).version).toBe(version);
  });
});
