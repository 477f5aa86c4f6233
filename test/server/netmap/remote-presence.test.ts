import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

describe('engine: nodes whose stream another replica holds', () => {
  let t: TestServer;
  const agents: TestAgent[] = [];

  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) a.stop();
    await t.stop();
  });

  const joined = async (name: string, connect: boolean) => {
    const a = new TestAgent(t.url, name);
    agents.push(a);
    await a.join(await t.preAuthKey({ tags: ['tag:server'] }));
    return connect ? a.connect() : a;
  };
  const peer = (a: TestAgent, name: string) => [...a.map.peers.values()].find((p) => p.name === name);

  it('shows the node online with the endpoint the other replica observed, and offline when it lets go', async () => {
    const here = await joined('here', true);
    const there = await joined('there', false);
    await here.until((a) => peer(a, 'there')?.online === false, 'there offline');
    const { engine } = t.server;
    engine.setRemotePresence(there.node!.id, { replicaId: 'r2', observedEndpoint: '203.0.113.9:41641' });
    await here.until((a) => peer(a, 'there')?.online === true, 'there online through r2');
    expect(peer(here, 'there')?.observedEndpoint).toBe('203.0.113.9:41641');
    expect(engine.remoteHolderOf(there.node!.id)).toBe('r2');
    engine.setRemotePresence(there.node!.id, undefined);
    await here.until((a) => peer(a, 'there')?.online === false, 'there offline again');
    expect(engine.remoteHolderOf(there.node!.id)).toBeUndefined();
  });

  it("keeps a node online while another replica holds it after this replica's stream closed", async () => {
    const here = await joined('here', true);
    const mover = await joined('mover', true);
    await here.until((a) => peer(a, 'mover')?.online === true, 'mover online here');
    // The node moved to replica r2, which wrote its presence, before this replica saw the stream close.
    await t.server.store.presence.set({ nodeId: mover.node!.id, replicaId: 'r2', since: Date.now() });
    expect(t.server.engine.hasStream(mover.node!.id)).toBe(true);
    expect(t.server.engine.remoteHolderOf(mover.node!.id)).toBeUndefined();
    mover.stop();
    await new Promise((r) => setTimeout(r, 300));
    expect(t.server.engine.isOnline(mover.node!.id)).toBe(true);
    expect(t.server.engine.remoteHolderOf(mover.node!.id)).toBe('r2');
    expect(peer(here, 'mover')?.online).toBe(true);
  });
});
