import { afterEach } from 'vitest';
import type { PrefixView } from '../../../protocol/admin.ts';
import { RawMapStream } from '../../support/router-agent.ts';
import { TestAgent } from '../../support/server.ts';
import { startReplica, type InProcessReplica } from '../replication/replicas.ts';

/** The prefix the suites' routers advertise, and a policy that approves it for tag:router. */
export const PREFIX = '10.1.0.0/16';
export const ROUTER_POLICY = `{
  "tagOwners": { "tag:router": ["alice@example.com"] },
  "autoApprovers": { "routes": { "${PREFIX}": ["tag:router"] } },
  "acls": [{ "action": "accept", "src": ["*"], "dst": ["*:*"] }],
}`;

/**
 * In-process replicas on one PostgreSQL, with routers of PREFIX and clients joined through
 * them, for the route-election suites. Whatever a test starts is stopped after it.
 */
export function routerReplicas(db: { url(): string }, replicaSettings: Record<string, unknown> = {}) {
  const replicas: InProcessReplica[] = [];
  const agents: TestAgent[] = [];
  const streams: RawMapStream[] = [];

  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    for (const a of agents.splice(0)) a.stop();
    for (const r of replicas.splice(0).reverse()) await r.stop().catch(() => {});
  });

  const replica = async (id: string) => {
    const r = await startReplica(id, undefined, {
      store: { driver: 'postgres', url: db.url() },
      replica: { id, heartbeatMs: 200, deadAfterMs: 1000, ...replicaSettings },
    });
    replicas.push(r);
    return r;
  };
  const agent = (r: InProcessReplica, name: string) => {
    const a = new TestAgent(r.url, name);
    agents.push(a);
    return a;
  };
  /** A node joined through `r` that advertises PREFIX; no stream yet. */
  const joinRouter = async (r: InProcessReplica, name: string) => {
    const a = agent(r, name);
    await a.join(await r.taggedKey(['tag:router']), { advertiseRoutes: [PREFIX] });
    return a;
  };
  /** A raw map stream for `a` (on the replica it joined through), closed after the test. */
  const stream = async (a: TestAgent) => {
    const s = await RawMapStream.open(a);
    streams.push(s);
    return s;
  };
  /** A client joined through `r`, streaming its map. */
  const client = async (r: InProcessReplica, name: string) => {
    const c = agent(r, name);
    await c.join(await r.taggedKey(['tag:client']));
    return c.connect();
  };
  /** Which peers carry PREFIX for this client, as its map says. */
  const carriers = (c: TestAgent) =>
    [...c.map.peers.values()].filter((p) => p.primaryRoutes?.includes(PREFIX)).map((p) => p.name);
  /** PREFIX as `GET /api/v1/routes` on `r` shows it. */
  const routeView = async (r: InProcessReplica) =>
    (await r.admin<{ items: PrefixView[] }>('GET', '/api/v1/routes')).body.items.find((p) => p.prefix === PREFIX);

  return { replicas, agents, streams, replica, agent, joinRouter, stream, client, carriers, routeView };
}
