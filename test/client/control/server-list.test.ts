import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Backoff } from '../../../client/control/backoff.ts';
import { ControlClient } from '../../../client/control/control-client.ts';
import { generateMachineKey } from '../../../client/control/machine-key.ts';
import { MapStream } from '../../../client/control/map-stream.ts';
import { ServerList } from '../../../client/control/server-list.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

/** A loopback HTTP server that answers every request with `status` and records the Host header it saw. */
async function answering(status: number, host = '127.0.0.1', port = 0) {
  const hosts: string[] = [];
  const server = createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        status < 300
          ? { answeredBy: status }
          : { code: status >= 500 ? 'store.unavailable' : 'auth.forbidden', message: 'no' },
      ),
    );
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  return { server, hosts, url: `http://${host}:${(server.address() as AddressInfo).port}` };
}

/** A loopback URL where nothing listens (a replica that died): connections are refused. */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

/** A TCP forwarder standing for one replica in front of a real server; `kill()` drops it like kill -9. */
async function replicaProxy(target: string) {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => sockets.size,
    kill: async () => {
      for (const s of sockets) s.resetAndDestroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const key = () => generateMachineKey().privateKey;

describe('an agent with several server URLs', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
  });
  const live = async (status: number, host?: string, port?: number) => {
    const a = await answering(status, host, port);
    servers.push(a.server);
    return a;
  };

  it('sends a request to the next replica when the first cannot be reached, and stays there', async () => {
    const good = await live(200);
    const control = new ControlClient([await deadUrl(), good.url], key());
    expect(await control.request('GET', '/api/v1/machine/self')).toEqual({ answeredBy: 200 });
    expect(control.serverUrl).toBe(good.url);
    await control.request('GET', '/api/v1/machine/self');
    expect(good.hosts).toHaveLength(2);
  });

  it('leaves a replica that answers 5xx (cut off from its database) for the next', async () => {
    const sick = await live(503);
    const good = await live(200);
    const control = new ControlClient([sick.url, good.url], key());
    expect(await control.request('POST', '/api/v1/machine/update', {})).toEqual({ answeredBy: 200 });
    expect(sick.hosts).toHaveLength(1);
    expect(control.serverUrl).toBe(good.url);
  });

  it("does not move on a refusal (4xx): another replica would refuse the same, and the caller sees the server's code", async () => {
    const refusing = await live(403);
    const good = await live(200);
    const control = new ControlClient([refusing.url, good.url], key());
    await expect(control.request('GET', '/api/v1/machine/self')).rejects.toMatchObject({
      code: 'auth.forbidden',
      status: 403,
    });
    expect(good.hosts).toHaveLength(0);
  });

  it('tries each replica once per request and reports the last failure; the next request starts elsewhere', async () => {
    const [a, b] = [await deadUrl(), await deadUrl()];
    const control = new ControlClient([a, b], key());
    await expect(control.request('GET', '/api/v1/machine/self')).rejects.toMatchObject({
      code: 'server.unreachable',
      message: expect.stringContaining(b),
    });
    expect(control.serverUrl).toBe(a); // the round came back to the first
  });

  it('tries every address of one name with several (Host keeps the name)', async () => {
    const good = await live(200, '127.0.0.2');
    const port = Number(new URL(good.url).port);
    const list = new ServerList([`http://replicas.trellis.test:${port}`], {
      resolve: async (host) => (host === 'replicas.trellis.test' ? ['127.0.0.1', '127.0.0.2'] : []),
    });
    const control = new ControlClient(list, key());
    expect(await control.request('GET', '/api/v1/machine/self')).toEqual({ answeredBy: 200 });
    expect(list.current).toEqual({ url: `http://replicas.trellis.test:${port}`, address: '127.0.0.2' });
    expect(good.hosts).toEqual([`replicas.trellis.test:${port}`]);
  });

  it('moves at once with a little jitter within a round, and backs off once every replica failed', () => {
    const list = new ServerList(['http://a.test', 'http://b.test', 'http://c.test'], {
      random: () => 0.5,
      backoff: new Backoff(1000, 8000, () => 0.5),
    });
    const delays = [0, 1, 2, 3, 4, 5].map(() => list.failed(list.current));
    expect(delays).toEqual([125, 125, 500, 125, 125, 1000]);
    list.succeeded(list.current);
    expect(list.failed(list.current)).toBe(125);
    expect(list.failed(list.current)).toBe(125);
    expect(list.failed(list.current)).toBe(500); // the backoff starts over after a success
  });
});

describe('the map stream moving between replicas', () => {
  let t: TestServer;
  afterEach(async () => {
    await t?.stop();
  });

  it('opens on the next replica when the first refuses the upgrade with 503', async () => {
    t = await startTestServer();
    const sick = await answering(503);
    try {
      const a = new TestAgent(t.url, 'alpha');
      await a.join(await t.preAuthKey());
      const stream = new MapStream(new ControlClient([sick.url, t.url], a.machine.privateKey), { onMap: () => {} });
      stream.start();
      try {
        await until(() => stream.state.version >= 0, 'a map from the second replica');
        expect(sick.hosts.length).toBeGreaterThanOrEqual(1);
      } finally {
        stream.stop();
      }
    } finally {
      await new Promise<void>((r) => sick.server.close(() => r()));
    }
  });

  it('moves when its replica dies, resumes from the version it had, and keeps receiving changes', async () => {
    t = await startTestServer();
    const replica = await replicaProxy(t.url);
    const a = new TestAgent(t.url, 'alpha');
    await a.join(await t.preAuthKey());
    const changes: boolean[] = [];
    const stream = new MapStream(new ControlClient([replica.url, t.url], a.machine.privateKey), {
      onMap: (_s, change) => changes.push(change.full),
    });
    stream.start();
    try {
      await until(() => stream.state.version >= 0, 'first map through the first replica');
      expect(replica.connections()).toBeGreaterThan(0);
      const before = stream.state.version;
      await replica.kill();
      const b = new TestAgent(t.url, 'beta');
      await b.join(await t.preAuthKey());
      await until(() => [...stream.state.peers.values()].some((p) => p.name === 'beta'), 'beta after the move');
      expect(stream.state.version).toBeGreaterThan(before);
      // The same server kept what it sent: the move resumed with deltas, no second full map.
      expect(changes.filter(Boolean)).toHaveLength(1);
    } finally {
      stream.stop();
    }
  });
});

async function until(condition: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
