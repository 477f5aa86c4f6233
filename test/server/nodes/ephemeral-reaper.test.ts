import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

describe('ephemeral nodes (the leader reaps them)', () => {
  let t: TestServer;
  const agents: TestAgent[] = [];
  beforeEach(async () => {
    t = await startTestServer({ nodes: { ephemeralGraceSeconds: 1 } });
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) a.stop();
    await t.stop();
  });
  const ephemeral = async (name: string) => {
    const a = new TestAgent(t.url, name);
    agents.push(a);
    await a.join(await t.preAuthKey({ tags: ['tag:ci'], ephemeral: true, reusable: true }));
    return a;
  };
  const stored = async (a: TestAgent) => (await t.server.store.nodes.get(a.node!.id)) !== undefined;
  const waitGone = async (a: TestAgent) => {
    for (let i = 0; i < 50 && (await stored(a)); i++) await new Promise((r) => setTimeout(r, 100));
  };

  it('deletes one offline for the grace period after it disconnected, and keeps one that stays connected', async () => {
    const leaving = (await ephemeral('leaving')).connect();
    const staying = (await ephemeral('staying')).connect();
    await leaving.until((a) => a.map.version > 0, 'map');
    await staying.until((a) => a.map.version > 0, 'map');
    leaving.stop();
    await waitGone(leaving);
    expect(await stored(leaving)).toBe(false);
    expect(await stored(staying)).toBe(true);
    expect(t.server.engine.node(leaving.node!.id)).toBeUndefined();
  });

  it('deletes one that joined and never connected', async () => {
    const never = await ephemeral('never');
    expect(await stored(never)).toBe(true);
    await waitGone(never);
    expect(await stored(never)).toBe(false);
  });
});
