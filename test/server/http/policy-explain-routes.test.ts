/**
 * POST /api/v1/policy/explain with an address for dst: through the elected primary router of
 * an approved subnet route, or an exit node, over a real server with joined agents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Explanation } from '../../../protocol/policy-admin.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

const POLICY = `{
  "groups": {"group:eng": ["alice@example.com"]},
  "tagOwners": {"tag:router": ["alice@example.com"]},
  "acls": [
    {"action": "accept", "src": ["group:eng"], "dst": ["10.20.0.0/24:22"]},
    {"action": "accept", "src": ["group:eng"], "dst": ["autogroup:internet:443"]},
  ],
}
`;

describe('policy API: explain through routes and exit nodes', () => {
  let ts: TestServer;
  const agents: TestAgent[] = [];
  const explain = async (dst: string, port: number) => {
    const res = await ts.admin('POST', '/api/v1/policy/explain', { src: 'laptop', dst, port });
    expect(res.status).toBe(200);
    return Explanation.parse(res.body);
  };

  beforeAll(async () => {
    ts = await startTestServer();
    await ts.setPolicy(POLICY);
    const join = async (name: string, extra: { advertiseTags?: string[]; advertiseRoutes?: string[] }) => {
      const a = new TestAgent(ts.url, name);
      agents.push(a);
      const node = await a.join(await ts.preAuthKey({ user: 'alice@example.com' }), extra);
      if (extra.advertiseRoutes) {
        const res = await ts.admin('POST', `/api/v1/nodes/${node.id}/routes`, { routes: extra.advertiseRoutes });
        expect(res.status).toBe(200);
      }
      a.connect();
      return a;
    };
    await join('laptop', {});
    await join('router', { advertiseTags: ['tag:router'], advertiseRoutes: ['10.20.0.0/24'] });
    await join('exit', { advertiseTags: ['tag:router'], advertiseRoutes: ['0.0.0.0/0', '::/0'] });
  }, 30_000);
  afterAll(async () => {
    for (const a of agents) a.stop();
    await ts?.stop();
  });

  it('an address in a subnet route: yes, by which rule, through which router', async () => {
    const e = await explain('10.20.0.7', 22);
    expect(e).toMatchObject({
      verdict: 'accept',
      dst: { id: '10.20.0.7', name: '10.20.0.7' },
      via: { kind: 'subnet', router: { name: 'router' }, prefix: '10.20.0.0/24' },
    });
    expect(e.allowedBy[0]).toMatchObject({ line: 5, origin: 'acl' });
    expect(e.text).toMatch(/^accept: laptop -> 10\.20\.0\.7:22\/tcp via router router \(10\.20\.0\.0\/24\)/);
    const closed = await explain('10.20.0.7', 80);
    expect(closed.verdict).toBe('deny');
    expect(closed.reasons[0]).toContain('only on ports 22');
  });

  it('an internet address: through the exit node the source may use', async () => {
    const e = await explain('198.51.100.4', 443);
    expect(e).toMatchObject({
      verdict: 'accept',
      via: { kind: 'exit', router: { name: 'exit' }, prefix: '0.0.0.0/0' },
    });
    expect(e.allowedBy[0]).toMatchObject({ line: 6 });
    expect((await explain('198.51.100.4', 80)).verdict).toBe('deny');
  });

  it('a name that is neither a node nor an address is still an unknown node', async () => {
    const res = await ts.admin<{ code: string; where: string }>('POST', '/api/v1/policy/explain', {
      src: 'laptop',
      dst: 'nowhere',
      port: 22,
    });
    expect([res.status, res.body.code, res.body.where]).toEqual([404, 'policy.unknown_node', 'body.dst']);
  });
});
