import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuthorityView } from '../../../protocol/pki.ts';
import type { CliIO } from '../../../server/cli/io.ts';
import { main } from '../../../server/cli/main.ts';
import { describeWith, hasCommand } from '../../support/prerequisites.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

describeWith([hasCommand('openssl')], 'trellis-server ca', () => {
  let ts: TestServer;
  const cli = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      env: { TRELLIS_SERVER: ts.url, TRELLIS_API_KEY: ts.adminKey },
    };
    const code = await main(args, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const listed = async () => JSON.parse((await cli(['ca', 'list', '--json'])).out) as AuthorityView[];

  beforeAll(async () => {
    ts = await startTestServer();
  });
  afterAll(async () => {
    await ts?.stop();
  });

  it('lists the CA that signs, with its fingerprint', async () => {
    const [ca] = await listed();
    const text = await cli(['ca', 'list']);
    expect(text.code).toBe(0);
    const [header, row] = text.out.split('\n');
    expect(header).toMatch(/^ID\s+STATE\s+SIGNS FROM\s+TRUSTED UNTIL\s+SHA-256 FINGERPRINT$/);
    expect(row).toContain(ca!.id);
    expect(row).toContain('signing');
    expect(row).toContain(ca!.fingerprint);
  });

  it('rotates with a grace period, refuses an early finish with the code, and finishes with --force', async () => {
    const rotated = await cli(['ca', 'rotate', '--grace', '3600']);
    expect(rotated.code).toBe(0);
    const [next, old] = await listed();
    expect(rotated.out).toContain(`new CA ${next!.id}`);
    expect(rotated.out).toContain(`signs from ${next!.signsFrom}`);
    expect([next!.state, old!.state]).toEqual(['pending', 'signing']);

    const again = await cli(['ca', 'rotate']);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/^trellis-server ca: .*\[pki\.rotation_pending\]$/);
    const early = await cli(['ca', 'finish']);
    expect(early.code).toBe(1);
    expect(early.err).toContain('--force');
    expect(early.err).toContain('[pki.overlap_not_over]');

    const forced = await cli(['ca', 'finish', '--force']);
    expect(forced.code, forced.err).toBe(0);
    expect(forced.out).toContain(`CA ${next!.id} signs since`);
    expect((await listed()).map((a) => a.state)).toEqual(['signing', 'retired']);
  });

  it('refuses a grace period out of range before calling the server', async () => {
    const bad = await cli(['ca', 'rotate', '--grace', '-5']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('--grace');
    expect(await listed()).toHaveLength(2);
  });
});
