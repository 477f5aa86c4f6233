import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlClient } from '../../../client/control/control-client.ts';
import type { MapChange } from '../../../client/control/map-state.ts';
import { MapStream } from '../../../client/control/map-stream.ts';
import { createSqliteStore } from '../../../server/store/sqlite/index.ts';
import type { Store } from '../../../server/store/store.ts';
import { TestAgent } from '../../support/server.ts';
import { startReplica, type InProcessReplica } from '../replication/replicas.ts';

// Two replicas in one process on one store: a node served by one resumes on the other.
describe('map stream: resuming on a replica that never served the node', () => {
  let dir: string;
  let store: Store;
  let a: InProcessReplica & { adminKey: string };
  let b: InProcessReplica & { adminKey: string };
  const agents: TestAgent[] = [];
  const streams: MapStream[] = [];
  let stopped = false;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-resume-'));
    store = createSqliteStore(join(dir, 'trellis.db'));
    a = await startReplica('a', store, { relay: { udpPort: 0 } });
    stopped = false;
    b = await startReplica('b', store, { relay: { udpPort: 0 } });
  });
  afterEach(async () => {
    for (const s of streams.splice(0)) s.stop();
    for (const x of agents.splice(0)) x.stop();
    await b.stop();
    if (!stopped) await a.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const joined = async (r: InProcessReplica, name: string) => {
    const x = new TestAgent(r.url, name);
    agents.push(x);
    await x.join(await r.taggedKey());
    return x;
  };
  /** The node's stream, first to `urls[0]`, moving down the list as an agent with several servers does. */
  const streamOf = (x: TestAgent, urls: string[]) => {
    const changes: MapChange[] = [];
    const stream = new MapStream(new ControlClient(urls, x.machine.privateKey), {
      onMap: (_state, change) => changes.push(change),
    });
    streams.push(stream);
    stream.start();
    return { stream, changes };
  };
  const until = async (what: string, ok: () => boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const names = (s: MapStream) => [...s.state.peers.values()].map((p) => p.name).sort();
  /** What a fresh full map from `r` says, for the node of `x`. */
  const fullFrom = async (x: TestAgent, r: InProcessReplica) => {
    const { stream, changes } = streamOf(x, [r.url]);
    await until('a full map', () => changes.length > 0);
    stream.stop();
    expect(changes[0]!.full).toBe(true);
    return stream.state;
  };

  it("gets a delta with what changed meanwhile and the new replica's relay, equal to its full map", async () => {
    const x = await joined(a, 'x');
    const y = await joined(b, 'y');
    y.connect();
    const { stream, changes } = streamOf(x, [a.url, b.url]);
    await until('y online in x', () => [...stream.state.peers.values()].some((p) => p.name === 'y' && p.online));
    expect(stream.state.changeSeq).toBeGreaterThan(0);
    const relayOfA = stream.state.relay!;

    stream.stop();
    await joined(b, 'z'); // while x is away
    await a.stop(); // x's next try on a fails, and it moves to b
    stopped = true;
    const before = changes.length;
    stream.start();
    await until('a map from b', () => changes.length > before);

    const resumed = changes[before]!;
    expect(resumed.full).toBe(false);
    expect(names(stream)).toEqual(['y', 'z']);
    expect(stream.state.relay).not.toEqual(relayOfA);
    const state = stream.state;
    const snapshot = {
      peers: new Map(state.peers),
      filter: state.packetFilter,
      self: state.self,
      relay: state.relay,
      dns: state.dns,
      meshRanges: state.meshRanges,
    };
    stream.stop();
    const full = await fullFrom(x, b);
    expect(snapshot.peers).toEqual(full.peers);
    expect(snapshot.filter).toEqual(full.packetFilter);
    // Each connection of x's own moves its lastSeen: the second one, for the full map, too.
    expect({ ...snapshot.self, lastSeen: undefined }).toEqual({ ...full.self, lastSeen: undefined });
    expect(snapshot.relay).toEqual(full.relay);
    expect(snapshot.dns).toEqual(full.dns);
    expect(snapshot.meshRanges).toEqual(full.meshRanges);
  });

  it('gets the peers of its new tags when it was retagged while away, as a full map would', async () => {
    const TWO_TEAMS = `{
      "tagOwners": { "tag:server": ["alice@example.com"], "tag:web": ["alice@example.com"] },
      "acls": [
        { "action": "accept", "src": ["tag:server"], "dst": ["tag:server:*"] },
        { "action": "accept", "src": ["tag:web"], "dst": ["tag:web:*"] },
      ],
    }`;
    expect((await a.admin('PUT', '/api/v1/policy', { policy: TWO_TEAMS })).status).toBe(200);
    const x = await joined(a, 'x');
    await joined(a, 'y');
    const web = (await a.admin<{ secret: string }>('POST', '/api/v1/preauth-keys', { tags: ['tag:web'] })).body.secret;
    const z = new TestAgent(a.url, 'z');
    agents.push(z);
    await z.join(web);
    const { stream, changes } = streamOf(x, [a.url, b.url]);
    await until('y in x', () => names(stream).includes('y'));
    expect(names(stream)).toEqual(['y']);

    stream.stop();
    const retag = await b.admin('POST', `/api/v1/nodes/${x.node!.id}/tags`, { tags: ['tag:web'] });
    expect(retag.status).toBe(200);
    await a.stop();
    stopped = true;
    const before = changes.length;
    stream.start();
    await until('a map from b', () => changes.length > before);
    // What it shows now is a function of its own tags: every peer may differ, not only x.
    expect(names(stream)).toEqual(['z']);
    const snapshot = new Map(stream.state.peers);
    stream.stop();
    expect(snapshot).toEqual((await fullFrom(x, b)).peers);
  });

  it('gets a full map when a policy changed since its map, or it names no seq', async () => {
    const x = await joined(a, 'x');
    const { stream, changes } = streamOf(x, [b.url]);
    await until('a first map', () => changes.length > 0);
    // Served by b so far; a never served x, so it can only resume from the log.
    stream.stop();
    await a.admin('PUT', '/api/v1/policy', { policy: '{ "acls": [] }' });
    const moved = streamOf(x, [a.url]);
    moved.stream.state.version = stream.state.version;
    moved.stream.state.changeSeq = stream.state.changeSeq;
    await until('a map from a', () => moved.changes.length > 0);
    expect(moved.changes[0]!.full).toBe(true);
    moved.stream.stop();

    const old = streamOf(x, [b.url]); // an agent before protocol 15 sends no seq
    old.stream.state.version = moved.stream.state.version;
    await until('a map from b', () => old.changes.length > 0);
    expect(old.changes[0]!.full).toBe(true);
  });
});
