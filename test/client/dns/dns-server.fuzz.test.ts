import { createSocket, type Socket } from 'node:dgram';
import { decode, encode, type Packet } from 'dns-packet';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsServer } from '../../../client/dns/dns-server.ts';
import { MeshNames } from '../../../client/dns/mesh-names.ts';
import { datagrams, fuzzAsync } from '../../support/fuzz.ts';

const PROBE_ID = 0xbeef;
const probe = encode({ type: 'query', id: PROBE_ID, questions: [{ type: 'A', name: 'probe.mesh.test' }] });

function isProbeAnswer(reply: Buffer): boolean {
  try {
    const r = decode(reply);
    return r.id === PROBE_ID && r.questions?.[0]?.name === 'probe.mesh.test';
  } catch {
    return false;
  }
}

const names = fc.constantFrom(
  'web1.mesh.test',
  'WEB1.MESH.TEST.',
  'mesh.test',
  'nobody.mesh.test',
  '7.0.64.100.in-addr.arpa',
  'example.com',
  '',
  'a'.repeat(63) + '.mesh.test',
);
const queries = fc
  .record({
    id: fc.nat(0xffff),
    flags: fc.nat(0xffff),
    type: fc.constantFrom('query' as const, 'response' as const),
    questions: fc.array(
      fc.record({
        name: names,
        type: fc.constantFrom('A' as const, 'AAAA' as const, 'PTR' as const, 'ANY' as const, 'TXT' as const),
        class: fc.constantFrom('IN' as const, 'CH' as const, 'ANY' as const),
      }),
      { maxLength: 2 },
    ),
  })
  .map((q) => new Uint8Array(encode(q as Packet)));

describe('the DNS server, given any datagram', () => {
  let server: DnsServer;
  let client: Socket;
  const replies: Buffer[] = [];
  let onReply = () => {};

  beforeAll(async () => {
    server = await DnsServer.listen('127.0.0.1', 0);
    server.serve(
      new MeshNames('mesh.test', [
        { name: 'web1', addresses: ['100.64.0.7', 'fd7a:115c:a1e0::7'] },
        { name: 'probe', addresses: ['100.64.0.9'] },
      ]),
    );
    client = createSocket('udp4');
    client.on('message', (msg) => {
      replies.push(msg);
      onReply();
    });
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  /** Sends `packet` then a probe; what came back before the probe's answer answered `packet`. */
  async function exchange(packet: Uint8Array): Promise<Buffer[]> {
    replies.length = 0;
    const probeAnswered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server stopped answering')), 2_000);
      onReply = () => {
        if (isProbeAnswer(replies.at(-1)!)) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    client.send(packet, server.port, '127.0.0.1');
    client.send(probe, server.port, '127.0.0.1');
    await probeAnswered;
    return replies.slice(0, -1);
  }

  it('answers nothing, or one well-formed response with the query id, and keeps answering', async () => {
    await fuzzAsync(
      fc.asyncProperty(datagrams(queries, 64), async (packet) => {
        const answers = await exchange(packet);
        expect(answers.length).toBeLessThanOrEqual(1);
        if (answers.length === 0) return;
        const reply = decode(answers[0]!);
        expect(reply.type).toBe('response');
        expect(reply.id).toBe(Buffer.from(packet).readUInt16BE(0));
        expect((Buffer.from(packet)[2]! & 0x80) === 0).toBe(true); // an answer is never answered
      }),
      { runs: 100 },
    );
  });
});
