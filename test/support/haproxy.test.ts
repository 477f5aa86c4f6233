import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { readProxyHeader } from '../../server/http/proxy-protocol/read-header.ts';
import type { ProxyHeader } from '../../server/http/proxy-protocol/header.ts';
import { Haproxy, LOCAL_PROXY_SOURCE, freePort, haproxyPrerequisite, type Backend } from './haproxy.ts';
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

/** A backend that reads each connection's PROXY header (the server's own parser), answers 200 and says who the header named. */
class HeaderReadingBackend {
  readonly headers: Array<{ peer: string; header: ProxyHeader }> = [];
  private readonly server = createTcpServer((socket) => {
    let got = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const read = readProxyHeader(got);
      if (read.kind === 'incomplete') return;
      if (read.kind === 'refused') return void socket.destroy();
      socket.removeAllListeners('data');
      this.headers.push({ peer: socket.remoteAddress!, header: read.header });
      const body = read.header.source?.address ?? 'no client';
      socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
  });

  constructor(readonly backend: Backend) {}

  static async start(): Promise<HeaderReadingBackend> {
    const b = new HeaderReadingBackend({ name: 'pp', host: '127.0.0.1', port: await freePort() });
    await new Promise<void>((r) => b.server.listen(b.backend.port, '127.0.0.1', r));
    return b;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** One request through the proxy from `from`; the answer's body. */
function askFrom(proxy: Haproxy, from: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port: proxy.port, host: '127.0.0.1', localAddress: from });
    let out = '';
    s.setEncoding('latin1');
    s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    s.on('data', (d: string) => (out += d));
    s.on('close', () => resolve(out.split('\r\n\r\n')[1] ?? ''));
    s.on('error', reject);
  });
}

describeWith([haproxyPrerequisite()], 'haproxy sending PROXY v2 headers (test support)', () => {
  let backend: HeaderReadingBackend;
  let proxy: Haproxy;

  beforeAll(async () => {
    backend = await HeaderReadingBackend.start();
    proxy = await Haproxy.start({ backends: [backend.backend], checkIntervalMs: 100, sendProxyV2: true });
    await proxy.waitFor(['pp'], 'UP');
  });
  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  it('starts each proxied connection with a v2 header naming the client, from its own source address', async () => {
    expect(await askFrom(proxy, '127.0.0.3')).toBe('127.0.0.3');
    expect(await askFrom(proxy, '127.0.0.4')).toBe('127.0.0.4');
    const proxied = backend.headers.filter((h) => h.header.command === 'proxy');
    expect(proxied.map((h) => [h.header.version, h.header.source?.address, h.peer])).toEqual([
      [2, '127.0.0.3', LOCAL_PROXY_SOURCE],
      [2, '127.0.0.4', LOCAL_PROXY_SOURCE],
    ]);
  });

  it('sends its health checks with a LOCAL header: a backend that requires one still sees them', () => {
    const checks = backend.headers.filter((h) => h.header.command === 'local');
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.every((h) => h.header.version === 2 && h.peer === LOCAL_PROXY_SOURCE)).toBe(true);
  });

  it('puts send-proxy-v2 and the source in the config it writes', () => {
    const text = readFileSync(proxy.configFile, 'utf8');
    expect(text).toMatch(/default-server .* send-proxy-v2$/m);
    expect(text).toMatch(new RegExp(`^\\s*source ${LOCAL_PROXY_SOURCE.replaceAll('.', '\\.')}$`, 'm'));
  });
});
