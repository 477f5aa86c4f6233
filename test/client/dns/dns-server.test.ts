import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsServer } from '../../../client/dns/dns-server.ts';
import { MeshNames } from '../../../client/dns/mesh-names.ts';

describe('DnsServer: the mesh\'s names over real UDP (loopback)', () => {
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

  it('answers a system resolver\'s queries from the names it serves, and follows their changes', async () => {
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
    socket.send(Buffer.from([0xab, 0xcd, ...Array<number>(10).fill(0xff), 1, 2, 3]), server.port, '127.0.0.1');
    const answer = await reply;
    socket.close();
    expect([answer.readUInt16BE(0), answer.readUInt16BE(2) & 0x800f]).toEqual([0xabcd, 0x8001]); // same id, a response, FORMERR
    expect(await resolver.resolve4('db.mesh.test')).toEqual(['100.64.0.8']);
  });
});
