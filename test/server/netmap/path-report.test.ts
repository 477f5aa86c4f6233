import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NodeView } from '../../../protocol/admin.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

describe("a node's path summary (protocol 14 paths reports)", () => {
  let t: TestServer;
  const agents: TestAgent[] = [];

  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) a.stop();
    await t.stop();
  });

  const joined = async (name: string) => {
    const a = new TestAgent(t.url, name);
    agents.push(a);
    await a.join(await t.preAuthKey({ tags: ['tag:server'] }));
    return a;
  };
  const view = async (a: TestAgent) => (await t.admin<NodeView>('GET', `/api/v1/nodes/${a.node!.id}`)).body;
  const until = async (what: string, ok: () => Promise<boolean>) => {
    const end = Date.now() + 5000;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('is what the node last reported on its open stream, in the admin node API and the node list', async () => {
    const a = (await joined('a')).connect();
    await until('a online', async () => (await view(a)).online);
    expect((await view(a)).paths).toBeUndefined();

    a.stream!.reportPaths({ direct: 2, relay: 1, none: 0 });
    await until('the first report', async () => (await view(a)).paths !== undefined);
    expect((await view(a)).paths).toEqual({ direct: 2, relay: 1, none: 0 });

    a.stream!.reportPaths({ direct: 3, relay: 0, none: 0 });
    await until('the report replaced', async () => (await view(a)).paths?.direct === 3);
    const list = (await t.admin<{ items: NodeView[] }>('GET', '/api/v1/nodes')).body.items;
    expect(list.find((n) => n.id === a.node!.id)?.paths).toEqual({ direct: 3, relay: 0, none: 0 });
  });

  it('goes with the stream: an offline node has no paths', async () => {
    const a = (await joined('a')).connect();
    await until('a online', async () => (await view(a)).online);
    a.stream!.reportPaths({ direct: 1, relay: 0, none: 0 });
    await until('the report', async () => (await view(a)).paths !== undefined);
    a.stop();
    await until('a offline', async () => !(await view(a)).online);
    expect((await view(a)).paths).toBeUndefined();
  });

  it("is shared with the other replicas: this replica's presence row carries it, another's row is shown", async () => {
    const a = (await joined('a')).connect();
    await until('a online', async () => (await view(a)).online);
    a.stream!.reportPaths({ direct: 0, relay: 2, none: 1 });
    await until('the row written', async () => {
      const row = await t.server.store.presence.get(a.node!.id);
      return row?.paths !== undefined;
    });
    expect((await t.server.store.presence.get(a.node!.id))?.paths).toEqual({ direct: 0, relay: 2, none: 1 });

    const there = await joined('there');
    t.server.engine.setRemotePresence(there.node!.id, { replicaId: 'r2', paths: { direct: 4, relay: 0, none: 0 } });
    expect((await view(there)).paths).toEqual({ direct: 4, relay: 0, none: 0 });
    t.server.engine.setRemotePresence(there.node!.id, undefined);
    expect((await view(there)).paths).toBeUndefined();
  });
});
