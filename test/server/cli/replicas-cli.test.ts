import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicaView } from '../../../protocol/admin.ts';
import type { CliIO } from '../../../server/cli/io.ts';
import { main } from '../../../server/cli/main.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

describe('GET /api/v1/replicas, trellis-server replicas list and the replica metrics', () => {
  let ts: TestServer;
  const cli = async (args: string[]) => {
    const out: string[] = [];
    const io: CliIO = {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
      env: { TRELLIS_SERVER: ts.url, TRELLIS_API_KEY: ts.adminKey },
    };
    const code = await main(args, io);
    return { code, out: out.join('\n') };
  };
  const replicas = async () => {
    const res = await fetch(`${ts.url}/api/v1/replicas`, { headers: { authorization: `Bearer ${ts.adminKey}` } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: ReplicaView[] }).items;
  };

  beforeAll(async () => {
    ts = await startTestServer();
  });
  afterAll(async () => {
    await ts?.stop();
  });

  it('lists the one replica of a single server: itself, leading, caught up, reaching its database', async () => {
    for (let i = 0; i < 50 && (await replicas()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const [self, ...others] = await replicas();
    expect(others).toEqual([]);
    expect(self).toMatchObject({ self: true, alive: true, leader: true, lag: 0, database: 'reachable', connected: 0 });
    expect(self!.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Date.parse(self!.lastHeartbeat)).toBeGreaterThanOrEqual(Date.parse(self!.startedAt));
  });

  it('is in the OpenAPI document, for admins only', async () => {
    const doc = (await (await fetch(`${ts.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/api/v1/replicas');
    expect((await fetch(`${ts.url}/api/v1/replicas`)).status).toBe(401);
  });

  it('prints a table, and the same as JSON with --json', async () => {
    const table = await cli(['replicas', 'list']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^ID\s+ADDRESS\s+STARTED\s+HEARTBEAT\s+LEADER\s+APPLIED\s+LAG\s+NODES\s+DATABASE/);
    expect(table.out).toMatch(/ \*\s+http:\/\/127\.0\.0\.1:\d+ .* yes\s+\d+\/\d+\s+0\s+0\s+reachable/);
    const json = await cli(['replicas', 'list', '--json']);
    expect((JSON.parse(json.out) as ReplicaView[])[0]?.database).toBe('reachable');
  });

  it('exports leadership, change-log lag and database reachability to Prometheus', async () => {
    const text = await (await fetch(`${ts.url}/metrics`)).text();
    expect(text).toMatch(/^trellis_replica_leader 1$/m);
    expect(text).toMatch(/^trellis_change_log_lag 0$/m);
    expect(text).toMatch(/^trellis_store_reachable 1$/m);
  });
});
