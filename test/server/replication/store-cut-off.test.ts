import { afterEach, beforeEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ReplicaView } from '../../../protocol/admin.ts';
import { ControlClient } from '../../../client/control/control-client.ts';
import { MapStream } from '../../../client/control/map-stream.ts';
import { MAP_PATH } from '../../../server/netmap/stream-server.ts';
import { postgresPerTest } from '../../support/postgres-suite.ts';
import { describeWith, hasPostgres } from '../../support/prerequisites.ts';
import { TestAgent } from '../../support/server.ts';
import { startReplica, type InProcessReplica } from './replicas.ts';
import { TcpCut } from './tcp-cut.ts';

type Replica = InProcessReplica & { adminKey: string };
const REPLICA = { heartbeatMs: 200, deadAfterMs: 1000, cutOffMs: 800 };

describeWith([hasPostgres()], 'a replica cut off from its database', () => {
  const db = postgresPerTest();
  let cut: TcpCut;
  const replicas: Replica[] = [];
  const streams: MapStream[] = [];

  beforeEach(async () => {
    cut = new TcpCut('127.0.0.1', db.server().port);
    await cut.open();
  });
  afterEach(async () => {
    for (const s of streams.splice(0)) s.stop();
    for (const r of replicas.splice(0).reverse()) await r.stop().catch(() => {});
    await cut.cut();
  });

  const replica = async (id: string, storeUrl: string) => {
    const r = await startReplica(id, undefined, {
      store: { driver: 'postgres', url: storeUrl, connectTimeoutMs: 500 },
      replica: { id, ...REPLICA },
    });
    replicas.push(r);
    return r;
  };
  const health = async (r: Replica) => {
    const res = await fetch(`${r.url}/healthz`);
    return { status: res.status, body: (await res.json()) as { store: { reachable: boolean; reason?: string } } };
  };
  const eventually = async (what: string, ok: () => boolean | Promise<boolean>, ms = 20_000) => {
    const until = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const joined = async (r: Replica, name: string) => {
    const key = await r.admin<{ secret: string }>('POST', '/api/v1/preauth-keys', { tags: ['tag:server'] });
    const agent = new TestAgent(r.url, name);
    await agent.join(key.body.secret);
    return agent;
  };
  /** A map stream over several replicas, as an agent given several --server URLs keeps one. */
  const follow = (agent: TestAgent, urls: string[]) => {
    const control = new ControlClient(urls, agent.machine.privateKey);
    const seen = { connectedTo: undefined as string | undefined, maps: 0 };
    const stream = new MapStream(control, {
      onMap: () => void seen.maps++,
      onGoodbye: () => {},
      onConnection: (up) => (seen.connectedTo = up ? control.serverUrl : undefined),
    });
    stream.start();
    streams.push(stream);
    return { stream, seen, control };
  };
  /** The status a fresh map-stream upgrade to `r` gets (101: accepted). */
  const upgradeStatus = (r: Replica, agent: TestAgent) =>
    new Promise<{ status: number; body: string }>((resolve) => {
      const control = new ControlClient(r.url, agent.machine.privateKey);
      const ws = new WebSocket(r.url.replace('http', 'ws') + MAP_PATH, {
        headers: { authorization: control.proof('GET', MAP_PATH) },
      });
      ws.on('open', () => {
        ws.close();
        resolve({ status: 101, body: '' });
      });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.on('error', () => resolve({ status: 0, body: '' }));
    });

  it('refuses writes and streams and says why, its agents move to another replica, and it comes back caught up', async () => {
    const a = await replica('a', db.url().replace(`:${db.server().port}/`, `:${cut.port}/`));
    const b = await replica('b', db.url());
    const agent = await joined(a, 'moving');
    const { seen, stream } = follow(agent, [a.url, b.url]);
    await eventually('the agent on a with a map', () => seen.connectedTo === a.url && seen.maps > 0);
    expect((await health(a)).status).toBe(200);

    await cut.cut();
    await eventually('a not ready', async () => (await health(a)).status === 503);
    const h = await health(a);
    expect(h.body.store.reachable).toBe(false);
    expect(h.body.store.reason).toMatch(/\S/);
    expect((await health(b)).status).toBe(200);

    const write = await a.admin<{ code: string; message: string }>('POST', '/api/v1/preauth-keys', {
      tags: ['tag:server'],
    });
    expect(write.status).toBe(503);
    expect(write.body.code).toBe('store.unavailable');
    expect(write.body.message).toMatch(/has not reached the database for \d+ s/);

    const refused = await upgradeStatus(a, agent);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).code).toBe('store.unavailable');

    // Its stream was closed: the agent is on b now, with a map.
    await eventually('the agent on b', () => seen.connectedTo === b.url);
    // b's replicas list: a's heartbeat stopped, so nothing is known of its database; b leads.
    await eventually("a silent in b's list", async () => {
      const { body } = await b.admin<{ items: ReplicaView[] }>('GET', '/api/v1/replicas');
      const onA = body.items.find((x) => x.id === 'a');
      const onB = body.items.find((x) => x.id === 'b');
      // Silent, then removed as dead by the leader (b, once a's lock connection went with the rest).
      const silent = onA === undefined || (onA.alive === false && onA.database === 'unknown');
      return silent && onB?.database === 'reachable' && onB.leader === true;
    });

    // A change committed meanwhile, through b: the agent hears of it there, and a must have
    // it before it serves again.
    const other = await joined(b, 'joined-while-cut');
    await eventually('the new peer in the map from b', () =>
      [...stream.state.peers.values()].some((p) => p.name === 'joined-while-cut'),
    );
    expect(a.server.engine.node(other.node!.id)).toBeUndefined();

    await cut.mend();
    await eventually('a ready again', async () => (await health(a)).status === 200);
    expect((await health(a)).body.store.reachable).toBe(true);
    expect(a.server.engine.node(other.node!.id)?.record.name).toBe('joined-while-cut');
    expect((await a.admin('POST', '/api/v1/preauth-keys', { tags: ['tag:server'] })).status).toBe(201);
    expect((await upgradeStatus(a, agent)).status).toBe(101);
  }, 90_000);

  it('through a database crash and restart: every replica refuses writes meanwhile, none crashes, all recover', async () => {
    const a = await replica('a', db.url());
    const b = await replica('b', db.url());
    await db.server().kill();
    try {
      for (const r of [a, b]) {
        await eventually(`${r.server.replicas.id} not ready`, async () => (await health(r)).status === 503);
        const write = await r.admin<{ code: string }>('POST', '/api/v1/preauth-keys', { tags: ['tag:server'] });
        expect(write.status).toBe(503);
        expect(write.body.code).toBe('store.unavailable');
      }
    } finally {
      await db.server().restart();
    }
    for (const r of [a, b]) {
      await eventually(`${r.server.replicas.id} ready again`, async () => (await health(r)).status === 200, 30_000);
      expect((await r.admin('POST', '/api/v1/preauth-keys', { tags: ['tag:server'] })).status).toBe(201);
    }
  }, 90_000);
});
