import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { connect, createServer, type Server } from 'node:net';
import { decode, encode, type DecodedPacket } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frame, readFrames } from '../../../client/dns/dns-tcp.ts';
import { DnsServer } from '../../../client/dns/dns-server.ts';
import { Forwarder } from '../../../client/dns/forwarder.ts';
import { MeshNames } from '../../../client/dns/mesh-names.ts';

/** 40 TXT records of 60 bytes: about 2.9 KB, far over what plain UDP DNS carries. */
const RECORDS = Array.from({ length: 40 }, (_, i) => `record-${String(i).padStart(2, '0')}-${'x'.repeat(50)}`);
const TRUNCATED = 0x0200;

/** An upstream resolver that, like a real one, truncates the big answer over UDP and sends it whole over TCP. */
async function bigAnswerUpstream(): Promise<{ port: number; tcpQueries: number; close(): Promise<void> }> {
  const answer = (query: DecodedPacket, truncated: boolean) =>
    encode({
      type: 'response',
      id: query.id ?? 0,
      flags: truncated ? TRUNCATED : 0,
      questions: query.questions ?? [],
      answers: truncated
        ? []
        : RECORDS.map((r) => ({ type: 'TXT' as const, name: 'big.example.com', ttl: 60, data: [r] })),
    });
  const udp: UdpSocket = createSocket('udp4');
  udp.on('message', (msg, from) => udp.send(answer(decode(msg), true), from.port, from.address));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const port = udp.address().port;
  const state = { port, tcpQueries: 0, close: async () => undefined as void };
  const tcp: Server = createServer((conn) => {
    readFrames(conn, (msg) => {
      state.tcpQueries++;
      conn.write(frame(answer(decode(msg), false)));
    });
  });
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', () => r()));
  state.close = async () => {
    await new Promise<void>((r) => tcp.close(() => r()));
    await new Promise<void>((r) => udp.close(() => r()));
  };
  return state;
}

describe('DNS over TCP on the agent resolver (the exit node serves it on its mesh addresses)', () => {
  let upstream: Awaited<ReturnType<typeof bigAnswerUpstream>>;
  let server: DnsServer;

  beforeAll(async () => {
    upstream = await bigAnswerUpstream();
    server = await DnsServer.listen('127.0.0.1', 0, { tcp: true });
    server.serve(
      new MeshNames('mesh.test', [{ name: 'web1', addresses: ['100.64.0.7'] }]),
      new Forwarder(['127.0.0.1'], { port: upstream.port, timeoutMs: 2_000 }),
    );
  });
  afterAll(async () => {
    await server.close();
    await upstream.close();
  });

  it('gets a system resolver the whole of an answer too large for UDP: its retry over TCP is forwarded over TCP', async () => {
    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${server.port}`]);
    const txt = await resolver.resolveTxt('big.example.com');
    expect(txt.map((t) => t.join('')).sort()).toEqual(RECORDS);
    expect(upstream.tcpQueries).toBeGreaterThanOrEqual(1);
  });

  it('answers mesh names over TCP too, reading messages however the bytes are split, several on one connection', async () => {
    const query = (id: number, name: string) =>
      encode({ type: 'query', id, flags: 0x0100, questions: [{ type: 'A', name }] });
    const bytes = Buffer.concat([frame(query(7, 'web1.mesh.test')), frame(query(8, 'web1.mesh.test'))]);
    const conn = connect({ host: '127.0.0.1', port: server.port });
    const answers: DecodedPacket[] = [];
    const done = new Promise<void>((resolve) =>
      readFrames(conn, (msg) => {
        answers.push(decode(msg));
        if (answers.length === 2) resolve();
      }),
    );
    await new Promise<void>((r) => conn.once('connect', () => r()));
    for (const b of bytes) conn.write(Buffer.from([b])); // one byte at a time
    await done;
    conn.destroy();
    expect(answers.map((a) => a.id).sort()).toEqual([7, 8]);
    expect(answers[0]!.answers).toMatchObject([{ type: 'A', data: '100.64.0.7' }]);
  });
});
