import { connect } from 'node:net';
import { Hono } from 'hono';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requestClientAddress } from '../../../../server/http/client-address.ts';
import { HttpListener } from '../../../../server/http/listener.ts';
import { v2Header } from './v2-headers.ts';

/**
 * The HTTP port with a load balancer at 127.0.0.2 trusted to send PROXY headers; other
 * loopback addresses play clients that connect directly. Each answer says who the server
 * thinks the client is.
 */
const BALANCER = '127.0.0.2';
const DIRECT = '127.0.0.1';
const TIMEOUT_MS = 300;

const request = (path = '/who') => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
const proxied = (client: string, port = 40000) =>
  v2Header({ source: [client, port], destination: [client.includes(':') ? '::1' : '127.0.0.1', 8080] });

describe('the HTTP port behind a load balancer sending PROXY headers', () => {
  const logged: Array<{ code?: string; peer?: string; msg: string }> = [];
  let listener: HttpListener;
  let port = 0;

  /** Writes each part in turn (a pause between them) from `from`; resolves with all that came back once the server closes. */
  function exchange(from: string, parts: Buffer[], pauseMs = 20): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', localAddress: from });
      let out = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => (out += d));
      s.on('close', () => resolve(out));
      s.on('error', reject);
      s.on('connect', async () => {
        for (const [i, part] of parts.entries()) {
          if (i > 0) await new Promise((r) => setTimeout(r, pauseMs));
          if (!s.destroyed) s.write(part);
        }
      });
    });
  }
  const bodyOf = (answer: string) => answer.split('\r\n\r\n')[1] ?? '';

  beforeAll(async () => {
    const app = new Hono();
    app.get('/who', (c) => c.text(requestClientAddress(c)));
    const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    listener = new HttpListener({ proxyProtocol: { from: [`${BALANCER}/32`], headerTimeoutMs: TIMEOUT_MS }, logger });
    await listener.listen(app.fetch, '127.0.0.1', 0);
    port = Number(new URL(listener.url).port);
  });
  beforeEach(() => {
    logged.length = 0;
  });
  afterAll(async () => {
    await listener?.close();
  });

  it('takes the client address from a v2 header sent with the request in one write', async () => {
    const answer = await exchange(BALANCER, [Buffer.concat([proxied('203.0.113.7'), request()])]);
    expect(answer).toMatch(/^HTTP\/1.1 200/);
    expect(bodyOf(answer)).toBe('203.0.113.7');
  });

  it('reads a header that comes in pieces, then the request', async () => {
    const h = proxied('2001:db8::7');
    const answer = await exchange(BALANCER, [h.subarray(0, 5), h.subarray(5, 20), h.subarray(20), request()]);
    expect(bodyOf(answer)).toBe('2001:db8::7');
  });

  it('takes it from a v1 header too', async () => {
    const answer = await exchange(BALANCER, [
      Buffer.from('PROXY TCP4 198.51.100.9 127.0.0.1 5000 8080\r\n'),
      request(),
    ]);
    expect(bodyOf(answer)).toBe('198.51.100.9');
  });

  it('keeps the client address for every request of a kept-alive connection', async () => {
    const keepAlive = Buffer.from('GET /who HTTP/1.1\r\nHost: x\r\n\r\n');
    const answer = await exchange(BALANCER, [Buffer.concat([proxied('203.0.113.8'), keepAlive]), request()]);
    expect(answer.match(/203\.0\.113\.8/g)).toHaveLength(2);
  });

  it("answers a LOCAL header (the balancer's health check) as coming from the balancer", async () => {
    const answer = await exchange(BALANCER, [Buffer.concat([v2Header({ command: 0, family: 0 }), request()])]);
    expect(bodyOf(answer)).toBe(BALANCER);
  });

  it('closes a connection from the balancer that starts without a header, and logs why', async () => {
    expect(await exchange(BALANCER, [request()])).toBe('');
    expect(logged).toContainEqual(expect.objectContaining({ code: 'proxy_protocol.missing', peer: BALANCER }));
  });

  it('closes one whose header is malformed, and goes on serving', async () => {
    const bad = Buffer.from(proxied('203.0.113.7'));
    bad[12] = 0x23;
    expect(await exchange(BALANCER, [Buffer.concat([bad, request()])])).toBe('');
    expect(logged).toContainEqual(expect.objectContaining({ code: 'proxy_protocol.malformed' }));
    expect(bodyOf(await exchange(BALANCER, [Buffer.concat([proxied('203.0.113.9'), request()])]))).toBe('203.0.113.9');
  });

  it('closes one whose header does not complete within the timeout', async () => {
    const started = Date.now();
    expect(await exchange(BALANCER, [proxied('203.0.113.7').subarray(0, 14)])).toBe('');
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(logged).toContainEqual(expect.objectContaining({ code: 'proxy_protocol.timeout', peer: BALANCER }));
  });

  it('closes one that claims a header larger than it accepts', async () => {
    const big = v2Header({ source: ['203.0.113.7', 1], destination: ['127.0.0.1', 2], length: 60_000 });
    expect(await exchange(BALANCER, [big])).toBe('');
    expect(logged).toContainEqual(expect.objectContaining({ code: 'proxy_protocol.too_large' }));
  });

  it('closes, when the port closes, a connection still sending its header, and leaves no timeout behind', async () => {
    const other = new HttpListener({
      proxyProtocol: { from: [`${BALANCER}/32`], headerTimeoutMs: 2 * TIMEOUT_MS },
      logger: pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) }),
    });
    await other.listen(new Hono().fetch, '127.0.0.1', 0);
    const s = connect({ port: Number(new URL(other.url).port), host: '127.0.0.1', localAddress: BALANCER });
    const closed = new Promise((r) => s.once('close', r));
    s.on('error', () => undefined);
    await new Promise((r) => s.once('connect', r));
    s.write(proxied('203.0.113.7').subarray(0, 10));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await other.close();
    await closed;
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
    await new Promise((r) => setTimeout(r, 3 * TIMEOUT_MS));
    expect(logged).toEqual([]);
  });

  it('never believes a header from anyone else: it is a malformed request, and the client is the peer', async () => {
    const answer = await exchange(DIRECT, [Buffer.concat([proxied('203.0.113.7'), request()])]);
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    expect(answer).not.toContain('203.0.113.7');
    expect(bodyOf(await exchange(DIRECT, [request()]))).toBe(DIRECT);
  });
});
