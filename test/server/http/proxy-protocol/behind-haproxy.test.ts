import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuditPage } from '../../../../protocol/audit.ts';
import { startServer, type RunningServer } from '../../../../server/app.ts';
import { ServerConfig } from '../../../../server/config/schema.ts';
import { Haproxy, LOCAL_PROXY_SOURCE, haproxyPrerequisite } from '../../../support/haproxy.ts';
import { describeWith } from '../../../support/prerequisites.ts';

/**
 * A real server behind a real haproxy sending PROXY v2 (as deploy/haproxy/haproxy.cfg does):
 * clients on different addresses (127.0.0.2, 127.0.0.3 on the loopback) are different
 * sources to the rate limit, the audit trail and the log, though every connection the server
 * accepts comes from haproxy.
 */
const PER_MINUTE = 3;
const NOISY = '127.0.0.2';
const QUIET = '127.0.0.3';

interface Answer {
  status: number;
  body: string;
}

/** One request through haproxy from the given local address, on a connection of its own. */
function send(url: string, from: string, method: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(url + path, { method, localAddress: from, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

/** A join without a proof: refused, and counted against its source. */
const joinAttempt = (url: string, from: string) =>
  send(url, from, 'POST', '/api/v1/machine/register', { 'content-type': 'application/json' });

describeWith([haproxyPrerequisite()], 'the server behind haproxy with send-proxy-v2', () => {
  const logged: Array<Record<string, unknown>> = [];
  let dataDir: string;
  let server: RunningServer;
  let proxy: Haproxy;
  let adminKey: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'trellis-ppv-'));
    const config = ServerConfig.parse({
      dataDir,
      listen: { host: '127.0.0.1', port: 0, proxyProtocol: { from: [LOCAL_PROXY_SOURCE] } },
      relay: { udpPort: -1 },
      limits: { authPerMinute: PER_MINUTE },
    });
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    server = await startServer(config, { logger });
    adminKey = (await server.keys.createApiKey({ scopes: ['admin'], description: 'test' })).secret;
    const { hostname, port } = new URL(server.url);
    proxy = await Haproxy.start({
      backends: [{ name: 's', host: hostname, port: Number(port) }],
      checkIntervalMs: 100,
      sendProxyV2: true,
    });
    await proxy.waitFor(['s'], 'UP');
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('rate-limits each client on its own: one noisy client locks out only itself', async () => {
    const noisy: number[] = [];
    for (let i = 0; i <= PER_MINUTE; i++) noisy.push((await joinAttempt(proxy.url, NOISY)).status);
    expect(noisy.slice(0, PER_MINUTE).every((s) => s !== 429)).toBe(true);
    expect(noisy[PER_MINUTE]).toBe(429);
    const quiet = await joinAttempt(proxy.url, QUIET);
    expect(quiet.status).not.toBe(429);
    expect(JSON.parse(quiet.body).code).toMatch(/^proof\./);
    // The limit names the client it refused, not haproxy.
    expect(JSON.parse((await joinAttempt(proxy.url, NOISY)).body).message).toContain(NOISY);
  });

  it("audits each refused join with the client's address", async () => {
    const res = await fetch(`${server.url}/api/v1/audit?kind=auth&outcome=failure`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    const { items } = (await res.json()) as AuditPage;
    const sources = new Set(items.filter((e) => e.method === 'machine-proof').map((e) => e.source));
    expect([...sources].sort()).toEqual([NOISY, QUIET]);
  });

  it("logs each request, and a refused WebSocket upgrade, with the client's address", async () => {
    expect(logged).toContainEqual(
      expect.objectContaining({ msg: 'request', path: '/api/v1/machine/register', source: QUIET }),
    );
    const upgrade = await send(proxy.url, QUIET, 'GET', '/api/v1/machine/map', {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      authorization: 'Trellis-Machine x',
    }).catch((err: Error) => ({ status: 0, body: err.message }));
    expect(upgrade.status).toBe(401);
    await expect
      .poll(() => logged.find((l) => String(l.msg).startsWith('map stream refused')))
      .toMatchObject({ source: QUIET });
    // Only haproxy's own health checks come from haproxy.
    const fromProxy = logged.filter((l) => l.source === LOCAL_PROXY_SOURCE).map((l) => l.path);
    expect(new Set(fromProxy)).toEqual(new Set(['/healthz']));
  });

  it("answers haproxy's health checks (PROXY LOCAL) and logs no refused connection", () => {
    expect(logged.filter((l) => String(l.code ?? '').startsWith('proxy_protocol.'))).toEqual([]);
    expect(logged).toContainEqual(
      expect.objectContaining({ msg: 'request', path: '/healthz', status: 200, source: LOCAL_PROXY_SOURCE }),
    );
  });
});
