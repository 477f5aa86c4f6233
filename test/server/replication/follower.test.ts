import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../../server/store/sqlite/index.ts';
import type { Store } from '../../../server/store/store.ts';
import { TestAgent } from '../../support/server.ts';
import { startReplica, type InProcessReplica } from './replicas.ts';

// Two replicas in one process on one store: the in-process change log's hints, the real follower.
describe('replicas on one store follow each other', () => {
  let dir: string;
  let store: Store;
  let a: InProcessReplica & { adminKey: string };
  let b: InProcessReplica & { adminKey: string };
  const agents: TestAgent[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-follow-'));
    store = createSqliteStore(join(dir, 'trellis.db'));
    a = await startReplica('a', store);
    b = await startReplica('b', store);
  });
  afterEach(async () => {
    for (const x of agents.splice(0)) x.stop();
    await b.stop();
    await a.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const agentOn = async (r: InProcessReplica, name: string) => {
    const x = new TestAgent(r.url, name);
    agents.push(x);
    await x.join(await r.taggedKey());
    return x.connect();
  };
  const peer = (x: TestAgent, name: string) => [...x.map.peers.values()].find((p) => p.name === name);

  it('a node that joined through one replica reaches the maps of nodes on the other, online', async () => {
    const onA = await agentOn(a, 'on-a');
    const onB = await agentOn(b, 'on-b');
    await onA.until((x) => peer(x, 'on-b')?.online === true, 'on-b online in on-a map');
    await onB.until((x) => peer(x, 'on-a')?.online === true, 'on-a online in on-b map');
    expect(b.server.engine.remoteHolderOf(onA.node!.id)).toBe('a');
    expect(b.server.replicas.holderOf(onA.node!.id)?.id).toBe('a');
    onA.stop();
    await onB.until((x) => peer(x, 'on-a')?.online === false, 'on-a offline in on-b map');
  });

  it('a policy set through one replica reaches nodes on the other, and a deletion too', async () => {
    const onA = await agentOn(a, 'on-a');
    const onB = await agentOn(b, 'on-b');
    await onB.until((x) => peer(x, 'on-a') !== undefined, 'on-a in on-b map');
    const set = await a.admin('PUT', '/api/v1/policy', { policy: '{ "acls": [] }' });
    expect(set.status).toBe(200);
    await onB.until((x) => peer(x, 'on-a') === undefined, 'policy on b hides on-a');
    expect(b.server.engine.policyWarning()).toBeUndefined();
    await b.admin('PUT', '/api/v1/policy', {
      policy: '{ "acls": [{ "action": "accept", "src": ["*"], "dst": ["*:*"] }] }',
    });
    await onA.until((x) => peer(x, 'on-b') !== undefined, 'policy from b shows on-b on a');
    const del = await a.admin('DELETE', `/api/v1/nodes/${onB.node!.id}`);
    expect(del.status).toBe(204);
    await onB.until((x) => x.goodbye !== undefined, 'on-b told on b');
    expect(onB.goodbye?.code).toBe('node.deleted');
    expect(b.server.engine.node(onB.node!.id)).toBeUndefined();
  });

  it('both replicas hold the same view after a burst of changes from both', async () => {
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const r = i % 2 === 0 ? a : b;
        const x = new TestAgent(r.url, `burst-${i}`);
        agents.push(x);
        await x.join(await r.taggedKey());
      }),
    );
    await a.server.replicas.beat();
    const until = Date.now() + 5000;
    const same = () =>
      JSON.stringify(a.server.engine.nodeIds().sort()) === JSON.stringify(b.server.engine.nodeIds().sort());
    while (!same() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(b.server.engine.nodeCount).toBe(10);
    expect(same()).toBe(true);
  });
});
