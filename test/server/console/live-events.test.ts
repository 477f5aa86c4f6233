import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleUser } from '../../support/console-user.ts';
import { EventStreamReader } from '../../support/event-stream.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';
import { idpConfig, startTestIdp, type IdpUser, type TestIdp } from '../../support/test-idp.ts';

const USERS: Record<string, IdpUser> = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice', groups: [] },
  mia: { email: 'mia@example.com', email_verified: true, name: 'Mia', groups: [] },
};

describe('live events: GET /api/v1/console/events (server-sent events), scoped by role', () => {
  let idp: TestIdp;
  let t: TestServer;
  let callbackUrl = '';
  const streams: EventStreamReader[] = [];
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    idp = await startTestIdp(USERS, () => callbackUrl);
    t = await startTestServer({
      oidc: idpConfig(idp),
      console: { roles: { admin: { users: ['alice@example.com'] } } },
    });
    callbackUrl = `${t.url}/login/callback`;
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    for (const a of agents) a.stop();
    await t?.stop();
    await idp?.close();
  });

  const open = async (person: ConsoleUser) => {
    const res = await person.browser.send(`${t.url}/api/v1/console/events`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const stream = new EventStreamReader(res);
    streams.push(stream);
    return stream;
  };
  const person = async (login: string) => {
    const p = new ConsoleUser(t.url);
    await p.signIn(login);
    return p;
  };
  const joinAs = async (name: string, user: string) => {
    const agent = new TestAgent(t.url, name);
    agents.push(agent);
    await agent.join(await t.preAuthKey({ user }));
    return agent;
  };

  it('delivers a joining node, then its coming online and going offline, to an admin without a reload', async () => {
    const stream = await open(await person('alice'));
    const agent = await joinAs('web-1', 'alice@example.com');
    const joined = await stream.next((type, d) => type === 'node.joined' && d.name === 'web-1');
    expect(joined.data).toMatchObject({ type: 'node.joined', nodeId: agent.node!.id, at: expect.any(String) });
    agent.connect();
    await stream.next((type, d) => type === 'node.online' && d.nodeId === agent.node!.id);
    agent.stop();
    await stream.next((type, d) => type === 'node.offline' && d.nodeId === agent.node!.id);
    expect((await t.admin('DELETE', `/api/v1/nodes/${agent.node!.id}`)).status).toBe(204);
    expect((await stream.next((type) => type === 'node.removed')).data).toMatchObject({
      reason: 'deleted',
      name: 'web-1',
    });
  });

  it("tells an admin when an online node's path counts change, and not when a report repeats them", async () => {
    const stream = await open(await person('alice'));
    const agent = (await joinAs('pathy', 'alice@example.com')).connect();
    await stream.next((type, d) => type === 'node.online' && d.nodeId === agent.node!.id);
    agent.stream!.reportPaths({ direct: 1, relay: 2, none: 0 });
    const first = await stream.next((type) => type === 'node.paths');
    expect(first.data).toMatchObject({
      nodeId: agent.node!.id,
      name: 'pathy',
      paths: { direct: 1, relay: 2, none: 0 },
    });
    agent.stream!.reportPaths({ direct: 1, relay: 2, none: 0 });
    agent.stream!.reportPaths({ direct: 3, relay: 0, none: 0 });
    // The next paths event is the changed counts: the repeated report said nothing new.
    expect((await stream.next((type) => type === 'node.paths')).data.paths).toEqual({ direct: 3, relay: 0, none: 0 });
    // Another replica's presence row for a node it holds counts too.
    const there = await joinAs('there', 'alice@example.com');
    t.server.engine.setRemotePresence(there.node!.id, { replicaId: 'r2' });
    await stream.next((type, d) => type === 'node.online' && d.nodeId === there.node!.id);
    t.server.engine.setRemotePresence(there.node!.id, { replicaId: 'r2', paths: { direct: 0, relay: 1, none: 4 } });
    const remote = await stream.next((type) => type === 'node.paths');
    expect(remote.data).toMatchObject({ nodeId: there.node!.id, paths: { direct: 0, relay: 1, none: 4 } });
    t.server.engine.setRemotePresence(there.node!.id, undefined);
  });

  it('tells an admin of a policy change, with its version and author', async () => {
    const stream = await open(await person('alice'));
    await t.setPolicy('{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}');
    const changed = await stream.next((type) => type === 'policy.changed');
    expect(changed.data).toMatchObject({ version: expect.any(Number), author: expect.stringMatching(/^api-key:/) });
  });

  it("tells a member only of their own machines, never of others' or of the policy", async () => {
    const mia = await open(await person('mia'));
    await joinAs('alices-box', 'alice@example.com');
    await t.setPolicy('{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:22"]}]}');
    const own = await joinAs('mias-laptop', 'mia@example.com');
    const first = await mia.next();
    expect(first).toMatchObject({ type: 'node.joined', data: { name: 'mias-laptop', nodeId: own.node!.id } });
  });

  it('refuses the stream without a session or key, and ends it when the session ends', async () => {
    expect((await fetch(`${t.url}/api/v1/console/events`)).status).toBe(401);
    const alice = await person('alice');
    const stream = await open(alice);
    expect((await alice.call('DELETE', '/api/v1/console/session')).status).toBe(204);
    expect(await stream.ended()).toBe(true);
  });
});
