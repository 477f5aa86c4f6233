import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrefixView } from '../../../protocol/admin.ts';
import type { CliIO } from '../../../server/cli/io.ts';
import { main } from '../../../server/cli/main.ts';
import { RawMapStream } from '../../support/router-agent.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

describe('trellis-server routes list', () => {
  let ts: TestServer;
  const streams: RawMapStream[] = [];
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
    await ts.setPolicy(`{
      "tagOwners": { "tag:router": ["alice@example.com"] },
      "autoApprovers": { "routes": { "10.1.0.0/16": ["tag:router"] } },
      "acls": [{ "action": "accept", "src": ["*"], "dst": ["*:*"] }],
    }`);
    for (const [name, routePriority] of [
      ['router-a', 100],
      ['router-b', 150],
    ] as const) {
      const a = new TestAgent(ts.url, name);
      await a.control.register({
        wireguardKey: a.wireguard.publicKey,
        hostname: name,
        credential: { type: 'preauth-key', key: await ts.preAuthKey({ tags: ['tag:router'] }) },
        advertiseRoutes: ['10.1.0.0/16', '10.2.0.0/24'],
        routePriority,
      });
      streams.push(await RawMapStream.open(a));
    }
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await ts.stop();
  });

  it('prints each prefix with its routers, the primary first, their roles and why', async () => {
    const r = await cli(['routes', 'list']);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^PREFIX +ROUTER +ROLE +PRIORITY +STATE +WHY$/);
    expect(lines[1]).toMatch(/^10\.1\.0\.0\/16 +router-a +primary +100 +router-a stays primary while it is healthy/);
    expect(lines[2]).toMatch(/^ +router-b +standby +150 +standby: router-a is primary$/);
    expect(lines[3]).toMatch(
      /^10\.2\.0\.0\/24 +router-(a|b) +unapproved +1[05]0 +advertised, not approved +no approved router/,
    );
  });

  it('prints the API answer with --json', async () => {
    const r = await cli(['routes', 'list', '--json']);
    const items = JSON.parse(r.out) as PrefixView[];
    expect(items.map((p) => [p.prefix, p.primary?.name, p.standbys])).toEqual([
      ['10.1.0.0/16', 'router-a', ['router-b']],
      ['10.2.0.0/24', undefined, []],
    ]);
  });
});
