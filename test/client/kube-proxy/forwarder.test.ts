/**
 * The forwarder's relay of an answer (client/kube-proxy/relay.ts): every byte arrives, in
 * order, however large. Real TLS on both sides, on loopback.
 */
import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Forwarder } from '../../../client/kube-proxy/forwarder.ts';
import { createTestCa, issueTestCert } from '../../support/test-ca.ts';

const ca = createTestCa();
const serving = issueTestCert(ca, { ips: ['127.0.0.1'] });
const MiB = 1 << 20;

/** An API server whose answer is `size` bytes of a repeating pattern, written as fast as the proxy takes them. */
async function upstream(size: number): Promise<{ server: Server; url: URL; sent: () => number }> {
  let sent = 0;
  const server = createServer({ cert: serving.cert, key: serving.key }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    const piece = Buffer.alloc(64 * 1024);
    for (let i = 0; i < piece.length; i++) piece[i] = i % 251;
    const more = () => {
      while (sent < size) {
        const n = Math.min(piece.length, size - sent);
        sent += n;
        if (!res.write(n === piece.length ? piece : piece.subarray(0, n))) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}`), sent: () => sent };
}

async function proxyTo(url: URL): Promise<{ server: Server; url: string; forwarder: Forwarder }> {
  const forwarder = new Forwarder({ url, ca: ca.cert, authorization: () => undefined });
  const server = createServer({ cert: serving.cert, key: serving.key }, (req, res) =>
    forwarder.http(req, res, ['host', url.host, 'accept', '*/*'], () => undefined),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, forwarder };
}

const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

function pattern(size: number): string {
  const hash = createHash('sha256');
  const piece = Buffer.alloc(64 * 1024);
  for (let i = 0; i < piece.length; i++) piece[i] = i % 251;
  for (let done = 0; done < size; done += piece.length)
    hash.update(piece.subarray(0, Math.min(piece.length, size - done)));
  return hash.digest('hex');
}

describe('the forwarder relaying an answer', () => {
  it('delivers every byte of a 24 MiB answer, in order', async () => {
    const size = 24 * MiB + 12345;
    const api = await upstream(size);
    const proxy = await proxyTo(api.url);
    open.push(api.server, proxy.server, { close: () => proxy.forwarder.close() });
    const digest = await new Promise<{ bytes: number; hash: string }>((resolve, reject) => {
      const hash = createHash('sha256');
      let bytes = 0;
      request(`${proxy.url}/big`, { ca: ca.cert }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          hash.update(c);
        });
        res.on('end', () => resolve({ bytes, hash: hash.digest('hex') }));
      })
        .on('error', reject)
        .end();
    });
    expect(digest).toEqual({ bytes: size, hash: pattern(size) });
  });
});
