import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditPage } from '../../../protocol/audit.ts';
import type { CliIO } from '../../../server/cli/io.ts';
import { main } from '../../../server/cli/main.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

describe('trellis-server audit and users expire-nodes', () => {
  let ts: TestServer;
  let nodeId: string;
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

  beforeAll(async () => {
    ts = await startTestServer();
    const agent = new TestAgent(ts.url, 'laptop');
    nodeId = (await agent.join(await ts.preAuthKey({ user: 'audit@example.com' }))).id;
    await new TestAgent(ts.url, 'intruder').join('trellis-auth-nope-nope').catch(() => {});
  });
  afterAll(async () => {
    await ts.stop();
  });

  it('lists authentications, registrations and admin actions as JSON, newest first', async () => {
    const r = await cli(['audit', 'list', '--json']);
    expect(r.code).toBe(0);
    const page = JSON.parse(r.out) as AuditPage;
    const kinds = page.items.map((e) => `${e.kind}:${e.outcome}:${e.method}`);
    expect(kinds).toContain('auth:failure:preauth-key');
    expect(kinds).toContain('node.register:success:preauth-key');
    expect(kinds).toContain('admin:success:api-key');
    const ids = page.items.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const registered = page.items.find((e) => e.kind === 'node.register')!;
    expect(registered).toMatchObject({ actor: 'audit@example.com', nodeId, source: '127.0.0.1' });
  });

  it('filters by kind and outcome, and pages with --limit and --cursor', async () => {
    const failures = JSON.parse(
      (await cli(['audit', 'list', '--kind', 'auth', '--outcome', 'failure', '--json'])).out,
    ) as AuditPage;
    expect(failures.items.length).toBeGreaterThan(0);
    for (const e of failures.items) expect(e).toMatchObject({ kind: 'auth', outcome: 'failure' });
    expect(failures.items[0]).toMatchObject({ code: 'preauth_key.malformed' });

    const all = JSON.parse((await cli(['audit', 'list', '--json'])).out) as AuditPage;
    const first = JSON.parse((await cli(['audit', 'list', '--limit', '1', '--json'])).out) as AuditPage;
    expect(first.items).toHaveLength(1);
    const second = JSON.parse(
      (await cli(['audit', 'list', '--limit', '1', '--cursor', first.nextCursor!, '--json'])).out,
    ) as AuditPage;
    expect(second.items[0]!.id).toBe(all.items[1]!.id);

    const future = JSON.parse(
      (await cli(['audit', 'list', '--since', new Date(Date.now() + 60_000).toISOString(), '--json'])).out,
    ) as AuditPage;
    expect(future.items).toEqual([]);
  });

  it('prints a table, and refuses a bad filter with the flag and the choices named', async () => {
    const table = await cli(['audit', 'list', '--kind', 'node.register']);
    expect(table.out.split('\n')[0]).toMatch(/^TIME\s+KIND\s+OUTCOME\s+WHO/);
    expect(table.out).toContain('audit@example.com');
    const bad = await cli(['audit', 'list', '--kind', 'everything']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--kind: "everything" must be one of auth, login, node.register, node.expire, admin');
  });

  it('expires every node of a user, each audited', async () => {
    const user = (await ts.server.store.users.getByEmail('audit@example.com'))!;
    const r = await cli(['users', 'expire-nodes', user.id]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`expired 1 node(s) of user ${user.id}: laptop`);
    expect((await ts.server.store.nodes.get(nodeId))!.expiresAt).toBeLessThanOrEqual(Date.now());
    const expired = JSON.parse((await cli(['audit', 'list', '--kind', 'node.expire', '--json'])).out) as AuditPage;
    expect(expired.items[0]).toMatchObject({ nodeId, actor: expect.stringMatching(/^api-key:/) });
  });
});
