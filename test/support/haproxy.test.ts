import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { Haproxy, freePort, haproxyPrerequisite, type Backend } from './haproxy.ts';
import { describeWith } from './prerequisites.ts';

/**
 * The load balancer the scale-out tests put in front of replicas, against plain HTTP backends
 * that say who they are and whose health check a test can fail.
 */
class FakeReplica {
  healthy = true;
  readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(readonly backend: Backend) {
    this.server = createServer((req, res) => {
      if (req.url === '/healthz') res.statusCode = this.healthy ? 200 : 503;
      res.end(backend.name);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(name: string): Promise<FakeReplica> {
    const replica = new FakeReplica({ name, host: '127.0.0.1', port: await freePort() });
    await new Promise<void>((r) => replica.server.listen(replica.backend.port, '127.0.0.1', r));
    return replica;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Who answers a fresh connection through the proxy. */
async function whoAnswers(proxy: Haproxy): Promise<string> {
  const res = await fetch(`${proxy.url}/`, { headers: { connection: 'close' } });
  return res.text();
}

describeWith([haproxyPrerequisite()], 'haproxy in front of replicas (test support)', () => {
  let a: FakeReplica;
  let b: FakeReplica;
  let c: FakeReplica;
  let proxy: Haproxy;

  beforeAll(async () => {
    [a, b, c] = (await Promise.all(['a', 'b', 'c'].map((n) => FakeReplica.start(n)))) as [
      FakeReplica,
      FakeReplica,
      FakeReplica,
    ];
    proxy = await Haproxy.start({ backends: [a.backend, b.backend], checkIntervalMs: 100 });
    await proxy.waitFor(['a', 'b'], 'UP');
  });
  afterEach(() => {
    a.healthy = b.healthy = c.healthy = true;
  });
  afterAll(async () => {
    await proxy?.stop();
    await Promise.all([a, b, c].map((r) => r?.close()));
  });

  it('spreads new connections over every healthy backend, with no stickiness', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await whoAnswers(proxy));
    expect([...seen].sort()).toEqual(['a', 'b']);
  });

  it('marks a backend whose health check fails down, sends it nothing and cuts its open connections', async () => {
    const held = connect(proxy.port, '127.0.0.1');
    await new Promise((r) => held.once('connect', r));
    // Round robin: a second one lands on the other backend, so one of them is on `a` either way.
    const other = connect(proxy.port, '127.0.0.1');
    await new Promise((r) => other.once('connect', r));
    await expect.poll(() => a.sockets.size + b.sockets.size).toBeGreaterThanOrEqual(2);
    const closed = Promise.race([held, other].map((s) => new Promise((r) => s.once('close', r))));

    a.healthy = false;
    await proxy.waitFor(['a'], 'DOWN');
    await closed;
    for (let i = 0; i < 4; i++) expect(await whoAnswers(proxy)).toBe('b');
    held.destroy();
    other.destroy();

    a.healthy = true;
    await proxy.waitFor(['a'], 'UP');
  });

  it('reloads with a new backend list while it keeps listening', async () => {
    await proxy.reload([b.backend, c.backend]);
    await proxy.waitFor(['b', 'c'], 'UP');
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await whoAnswers(proxy));
    expect([...seen].sort()).toEqual(['b', 'c']);
    expect([...(await proxy.states()).keys()].sort()).toEqual(['b', 'c']);
  });

  it('refuses a config haproxy rejects, naming haproxy -c', async () => {
    await expect(proxy.reload([{ name: 'bad name', host: '127.0.0.1', port: 1 }])).rejects.toThrow(/haproxy -c/);
  });
});
