import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { decode, encode } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsServer } from '../../../client/dns/dns-server.ts';
import { Forwarder, resolvConfNameservers } from '../../../client/dns/forwarder.ts';
import { MeshNames } from '../../../client/dns/mesh-names.ts';

describe("DnsServer: the mesh's names over real UDP (loopback)", () => {
  let server: DnsServer;
  let resolver: Resolver;

  beforeAll(async () => {
    server = await DnsServer.listen('127.0.0.1', 0);
    resolver = new Resolver({ timeout: 1_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${server.port}`]);
  });
  afterAll(async () => {
    await server.close();
  });

  it('refuses every query until it has names to serve', async () => {
    await expect(resolver.resolve4('web1.mesh.test')).rejects.toMatchObject({ code: 'EREFUSED' });
  });

  it("answers a system resolver's queries from the names it serves, and follows their changes", async () => {
    server.serve(new MeshNames('mesh.test', [{ name: 'web1', addresses: ['100.64.0.7', 'fd7a:115c:a1e0::7'] }]));
    expect(await resolver.resolve4('web1.mesh.test')).toEqual(['100.64.0.7']);
    expect(await resolver.resolve6('WEB1.mesh.test')).toEqual(['fd7a:115c:a1e0::7']);
    expect(await resolver.reverse('100.64.0.7')).toEqual(['web1.mesh.test']);
    await expect(resolver.resolve4('db.mesh.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolve4('example.com')).rejects.toMatchObject({ code: 'EREFUSED' });

    server.serve(new MeshNames('mesh.test', [{ name: 'db', addresses: ['100.64.0.8'] }]));
    expect(await resolver.resolve4('db.mesh.test')).toEqual(['100.64.0.8']);
    await expect(resolver.resolve4('web1.mesh.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('answers a datagram that is not DNS with FORMERR when it has a header, and keeps serving', async () => {
    const socket = createSocket('udp4');
    const reply = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    // A query header (QR clear) claiming 65535 questions that are not there.
    socket.send(
      Buffer.from([0xab, 0xcd, 0x01, 0x00, ...Array<number>(8).fill(0xff), 1, 2, 3]),
      server.port,
      '127.0.0.1',
    );
    const answer = await reply;
    socket.close();
    expect([answer.readUInt16BE(0), answer.readUInt16BE(2) & 0x800f]).toEqual([0xabcd, 0x8001]); // same id, a response, FORMERR
    expect(await resolver.resolve4('db.mesh.test')).toEqual(['100.64.0.8']);
  });
});

describe('DnsServer with upstreams: other names go on to ordinary resolvers', () => {
  let upstream: DnsServer;
  let server: DnsServer;
  let resolver: Resolver;

  beforeAll(async () => {
    // The "ordinary resolver": another server, answering for names that are not the mesh's.
    upstream = await DnsServer.listen('127.0.0.1', 0);
    upstream.serve(new MeshNames('example.com', [{ name: 'www', addresses: ['192.0.2.10'] }]));
    server = await DnsServer.listen('127.0.0.1', 0);
    resolver = new Resolver({ timeout: 3_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${server.port}`]);
  });
  afterAll(async () => {
    await Promise.all([upstream.close(), server.close()]);
  });

  it("answers the mesh's names itself and forwards the rest, passing over a silent upstream", async () => {
    const silent = createSocket('udp4'); // on the upstreams' port of another loopback address, never answers
    await new Promise<void>((r) => silent.bind(upstream.port, '127.0.0.2', () => r()));
    const forwarder = new Forwarder(['127.0.0.2', 'not an address', '127.0.0.1'], {
      port: upstream.port,
      timeoutMs: 300,
    });
    expect(forwarder.upstreams).toEqual(['127.0.0.2', '127.0.0.1']);
    server.serve(new MeshNames('mesh.test', [{ name: 'web1', addresses: ['100.64.0.7'] }]), forwarder);
    expect(await resolver.resolve4('web1.mesh.test')).toEqual(['100.64.0.7']);
    expect(await resolver.resolve4('www.example.com')).toEqual(['192.0.2.10']);
    await expect(resolver.resolve4('nope.example.com')).rejects.toMatchObject({ code: 'ENOTFOUND' }); // the upstream's NXDOMAIN, passed on
    silent.close();
  });

  it('says SERVFAIL when no upstream answers', async () => {
    server.serve(new MeshNames('mesh.test', []), new Forwarder(['127.0.0.1'], { port: 9, timeoutMs: 200 }));
    await expect(resolver.resolve4('www.example.com')).rejects.toMatchObject({ code: 'ESERVFAIL' });
  });
});

describe('DnsServer closing while a query is forwarded', () => {
  it('drops the late answer instead of sending on a closed socket', async () => {
    // An upstream that answers 100 ms after it got the query, and says when it got it.
    const upstream = createSocket('udp4');
    await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
    const received = new Promise<void>((resolve) =>
      upstream.on('message', (msg, from) => {
        resolve();
        const answer = encode({
          type: 'response',
          id: msg.readUInt16BE(0),
          questions: decode(msg).questions ?? [],
          answers: [],
        });
        setTimeout(() => upstream.send(answer, from.port, from.address), 100);
      }),
    );
    const server = await DnsServer.listen('127.0.0.1', 0);
    server.serve(
      new MeshNames('mesh.test', []),
      new Forwarder(['127.0.0.1'], { port: upstream.address().port, timeoutMs: 1_000 }),
    );
    const resolver = new Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([`127.0.0.1:${server.port}`]);
    const asked = resolver.resolve4('www.example.com').catch((e: { code: string }) => e.code);
    await received;
    await server.close();
    expect(await asked).toBe('ETIMEOUT');
    await new Promise((r) => setTimeout(r, 100)); // a send on the closed socket would fail the run
    upstream.close();
  });
});

describe('resolvConfNameservers', () => {
  it('lists the nameservers in order, without ours, repeats or anything that is not an address', () => {
    const text =
      '# generated\nsearch example.internal\nnameserver 127.0.0.53\nnameserver 100.100.100.100\n  nameserver 2001:db8::53\nnameserver fe80::1%eth0\nnameserver 127.0.0.53\nnameserver bogus\noptions edns0\n';
    expect(resolvConfNameservers(text, ['100.100.100.100'])).toEqual(['127.0.0.53', '2001:db8::53', 'fe80::1%eth0']);
  });
});
