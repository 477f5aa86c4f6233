import { afterEach, expect, it } from 'vitest';
import { ControlClient } from '../../../client/control/control-client.ts';
import type { MapChange, MapState } from '../../../client/control/map-state.ts';
import { MapStream } from '../../../client/control/map-stream.ts';
import { createPostgresStore } from '../../../server/store/postgres/index.ts';
import type { Store } from '../../../server/store/store.ts';
import { postgresPerTest } from '../../support/postgres-suite.ts';
import { eventually } from '../../support/eventually.ts';
import { describeWith, hasPostgres } from '../../support/prerequisites.ts';
import { TestAgent } from '../../support/server.ts';
import { startReplica, type InProcessReplica } from '../replication/replicas.ts';

type Replica = InProcessReplica & { adminKey: string };

/** A replica whose change follower can be held: while held, it reads nothing from the log. */
interface HeldReplica extends Replica {
  hold(): void;
  release(): void;
}

/** What an agent's map shows, as a value (fields that move on every connection left out). */
function viewOf(state: MapState) {
  return structuredClone({
    peers: [...state.peers.values()].sort((p, q) => p.name.localeCompare(q.name)),
    filter: state.packetFilter,
    self: { ...state.self, lastSeen: undefined },
    relay: state.relay,
    dns: state.dns,
    meshRanges: state.meshRanges,
  });
}

// Two replicas on one real PostgreSQL: the replica that writes a change applies it to its own
// agents at once, before its follower reads it back from the log. An agent that got that delta
// and moves to the other replica (its replica died in between) must be resumed there, and to
// the view a full map would give it.
describeWith([hasPostgres()], 'map stream: resuming elsewhere after a change its replica wrote', () => {
  const db = postgresPerTest();
  const replicas: Replica[] = [];
  const stores: Store[] = [];
  const agents: TestAgent[] = [];
  const streams: MapStream[] = [];

  afterEach(async () => {
    for (const s of streams.splice(0)) s.stop();
    for (const x of agents.splice(0)) x.stop();
    for (const r of replicas.splice(0).reverse()) await r.stop().catch(() => {});
    for (const s of stores.splice(0)) await s.close();
  });

  const replica = async (id: string): Promise<HeldReplica> => {
    const inner = await createPostgresStore({ url: db.url(), poolSize: 4 });
    stores.push(inner);
    let held = false;
    const store: Store = {
      ...inner,
      changes: {
        ...inner.changes,
        since: (seq, limit) => (held ? Promise.resolve([]) : inner.changes.since(seq, limit)),
      },
    };
    const r = await startReplica(id, store, { store: { driver: 'postgres', url: db.url() }, relay: { udpPort: 0 } });
    replicas.push(r);
    return Object.assign(r, { hold: () => (held = true), release: () => (held = false) });
  };
  const joined = async (r: InProcessReplica, name: string) => {
    const x = new TestAgent(r.url, name);
    agents.push(x);
    await x.join(await r.taggedKey());
    return x;
  };
  /** The node's stream, to `urls[0]` first, moving down the list as an agent with several servers does. */
  const streamOf = (x: TestAgent, urls: string[]) => {
    const changes: Array<{ change: MapChange; view: ReturnType<typeof viewOf>; seq: number | undefined }> = [];
    const stream = new MapStream(new ControlClient(urls, x.machine.privateKey), {
      onMap: (state, change) => changes.push({ change, view: viewOf(state), seq: state.changeSeq }),
    });
    streams.push(stream);
    stream.start();
    return { stream, changes };
  };

  /** Until `r` has applied the whole log and nothing more is written for a moment. */
  const settled = async (...rs: Replica[]) => {
    let last = -1;
    await eventually('the log to settle', async () => {
      const head = await stores[0]!.changes.head();
      const ok = head === last && rs.every((r) => r.server.engine.changeSeq() === head);
      last = head;
      if (!ok) await new Promise((r) => setTimeout(r, 150));
      return ok;
    });
  };
  /** A fresh full map from `r` for the node of `x`. */
  const fullFrom = async (x: TestAgent, r: InProcessReplica) => {
    const { stream, changes } = streamOf(x, [r.url]);
    await eventually('a full map', () => changes.length > 0);
    stream.stop();
    expect(changes[0]!.change.full).toBe(true);
    return changes[0]!.view;
  };

  /** x on a and y on b, both streaming, each seeing the other online, and the log settled. */
  const twoNodes = async () => {
    const a = await replica('a');
    const b = await replica('b');
    const x = await joined(a, 'x');
    const y = await joined(b, 'y');
    y.connect();
    const onA = streamOf(x, [a.url, b.url]);
    await eventually('y online in x', () =>
      [...onA.stream.state.peers.values()].some((p) => p.name === 'y' && p.online),
    );
    await settled(a, b);
    return { a, b, x, y, onA };
  };

  /** a stops (its follower still held): x moves to b; the first map b sends it. */
  const moveToB = async (a: Replica, onA: ReturnType<typeof streamOf>) => {
    const before = onA.changes.length;
    await a.stop();
    replicas.splice(replicas.indexOf(a), 1);
    await eventually('a map from b', () => onA.changes.length > before);
    return onA.changes[before]!;
  };

  it('resumes a node whose last delta was a policy its replica wrote and died before reading back', async () => {
    const { a, b, x, onA } = await twoNodes();
    const head = await stores[0]!.changes.head();
    a.hold();
    const before = onA.changes.length;
    expect((await a.admin('PUT', '/api/v1/policy', { policy: '{ "acls": [] }' })).status).toBe(200);
    await eventually("the policy's delta on x", () => onA.stream.state.peers.size === 0);
    const delta = onA.changes[before]!;
    await eventually(
      'b applied the policy',
      async () => b.server.engine.changeSeq() === (await stores[0]!.changes.head()),
    );

    const first = await moveToB(a, onA);
    expect(first.change.full).toBe(false);
    expect(first.view.peers).toEqual([]);
    const resumed = first.view;
    onA.stream.stop();
    expect(resumed).toEqual(await fullFrom(x, b));
    // Because the delta that brought the policy named the policy's own change.
    expect(delta.change.full).toBe(false);
    expect(delta.seq).toBeGreaterThan(head);
  });

  it('resumes a node whose last delta was a node change its replica wrote and died before reading back', async () => {
    const { a, b, x, y, onA } = await twoNodes();
    a.hold();
    expect((await a.admin('POST', `/api/v1/nodes/${y.node!.id}/rename`, { name: 'y2' })).status).toBe(200);
    await eventually('the rename on x', () => [...onA.stream.state.peers.values()].some((p) => p.name === 'y2'));
    await eventually(
      'b applied the rename',
      async () => b.server.engine.changeSeq() === (await stores[0]!.changes.head()),
    );

    const first = await moveToB(a, onA);
    expect(first.change.full).toBe(false);
    const resumed = first.view;
    onA.stream.stop();
    expect(resumed).toEqual(await fullFrom(x, b));
  });

  it("resumes a node whose last delta was a user's groups, changed through its replica before it died", async () => {
    const a = await replica('a');
    const b = await replica('b');
    const policy = `{
      "groups": { "group:eng": ["idp:eng"] },
      "tagOwners": { "tag:server": [] },
      "acls": [{ "action": "accept", "src": ["group:eng"], "dst": ["tag:server:*"] }],
    }`;
    expect((await a.admin('PUT', '/api/v1/policy', { policy })).status).toBe(200);
    const alice = { email: 'alice@example.com', groups: ['eng'] };
    expect((await a.admin('POST', '/api/v1/users', alice)).status).toBe(201);
    // y (a server) streams from a; alice's laptop x, on b, may reach it while she is in eng.
    const y = await joined(a, 'y');
    const x = new TestAgent(b.url, 'x');
    agents.push(x);
    await x.join(
      (await b.admin<{ secret: string }>('POST', '/api/v1/preauth-keys', { user: alice.email })).body.secret,
    );
    x.connect();
    const onA = streamOf(y, [a.url, b.url]);
    await eventually('x online in y', () =>
      [...onA.stream.state.peers.values()].some((p) => p.name === 'x' && p.online),
    );
    await settled(a, b);
    const head = await stores[0]!.changes.head();

    a.hold();
    const before = onA.changes.length;
    expect((await a.admin('POST', '/api/v1/users', { ...alice, groups: [] })).status).toBe(201);
    await eventually('x gone from y', () => onA.stream.state.peers.size === 0);
    const delta = onA.changes[before]!;
    await eventually('b applied it', async () => b.server.engine.changeSeq() === (await stores[0]!.changes.head()));

    const first = await moveToB(a, onA);
    expect(first.change.full).toBe(false);
    expect(first.view.peers).toEqual([]);
    const resumed = first.view;
    onA.stream.stop();
    expect(resumed).toEqual(await fullFrom(y, b));
    // Because the delta that took x away named the user write's own change.
    expect(delta.seq).toBeGreaterThan(head);
  });

  it('never resumes a node onto a view older than its own: the replica catches up first', async () => {
    const { a, b, x, onA } = await twoNodes();
    a.hold();
    b.hold(); // b has not read the policy yet when x arrives
    await a.admin('PUT', '/api/v1/policy', { policy: '{ "acls": [] }' });
    await eventually("the policy's delta on x", () => onA.stream.state.peers.size === 0);
    setTimeout(() => b.release(), 300);

    const first = await moveToB(a, onA);
    expect(first.view.peers).toEqual([]); // the policy is in the view it got, as in x's before
    expect(first.change.full).toBe(false);
    const resumed = first.view;
    onA.stream.stop();
    expect(resumed).toEqual(await fullFrom(x, b));
  });
});
