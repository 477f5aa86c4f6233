import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayInfo } from '../../../protocol/map.ts';
import { buildBindingRequest, parseBindingResponse } from '../../../protocol/stun.ts';
import { StunResponder } from '../../../server/relay/stun.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

/** A client UDP socket on loopback collecting every datagram it receives. */
async function client(
  type: 'udp4' | 'udp6' = 'udp4',
): Promise<{ socket: Socket; port: number; received: Uint8Array[]; close(): void }> {
  const socket = createSocket(type);
  const received: Uint8Array[] = [];
  socket.on('message', (m) => received.push(new Uint8Array(m)));
  await new Promise<void>((r) => socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', () => r()));
  return { socket, port: socket.address().port, received, close: () => socket.close() };
}
const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

describe('the server answers STUN Binding requests (in-process server, real UDP sockets)', () => {
  let t: TestServer;
  let udpPort: number;
  let stunPort: number;

  beforeAll(async () => {
    t = await startTestServer();
    udpPort = t.server.relay!.port;
    stunPort = t.server.stunPort!;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('publishes both ports, without the WireGuard key, at GET /api/v1/relay/info (no credential)', async () => {
    const res = await fetch(`${t.url}/api/v1/relay/info`);
    expect(res.status).toBe(200);
    const info = RelayInfo.strict().parse(await res.json());
    expect(info).toEqual({ udpPort, stunPort, wsPath: '/api/v1/relay', endpoint: `127.0.0.1:${udpPort}` });
    expect(stunPort).not.toBe(udpPort);
  });

  it("answers on the relay port and on the STUN port with the sender's address, same transaction", async () => {
    const c = await client();
    for (const port of [udpPort, stunPort]) {
      const id = randomBytes(12);
      c.socket.send(buildBindingRequest(id), port, '127.0.0.1');
      await settle();
      const answer = parseBindingResponse(c.received.pop()!);
      expect(answer, `port ${port}`).toEqual({
        transactionId: new Uint8Array(id),
        mapped: { address: '127.0.0.1', port: c.port },
      });
    }
    c.close();
  });

  it('drops malformed STUN and anything WireGuard-shaped it cannot use, silently, and keeps answering', async () => {
    const c = await client();
    const good = buildBindingRequest(randomBytes(12));
    const bad = [
      good.subarray(0, 24),
      good.map((b, i) => (i === 27 ? b ^ 1 : b)),
      new Uint8Array([4, 0, 0, 0, 0x21, 0x12, 0xa4, 0x42, ...new Uint8Array(24)]),
      randomBytes(3),
    ];
    for (const port of [udpPort, stunPort]) for (const p of bad) c.socket.send(p, port, '127.0.0.1');
    await settle();
    expect(c.received).toEqual([]);
    c.socket.send(good, stunPort, '127.0.0.1');
    await settle();
    expect(c.received.length).toBe(1);
    c.close();
  });

  it('limits answers per source address across both ports, and counts them in /metrics', async () => {
    const c = await client();
    const before = await answersTotal();
    for (let i = 0; i < 30; i++)
      c.socket.send(buildBindingRequest(randomBytes(12)), i % 2 ? udpPort : stunPort, '127.0.0.1');
    await settle(300);
    // Burst 20 per source IP (127.0.0.1 here, shared with the tests above: at most 20 in all).
    expect(c.received.length).toBeGreaterThan(0);
    expect(c.received.length).toBeLessThanOrEqual(20);
    expect((await answersTotal()) - before).toBe(c.received.length);
    c.close();
  });

  async function answersTotal(): Promise<number> {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    return Number(
      metrics
        .split('\n')
        .find((l) => l.startsWith('trellis_relay_stun_answers_total '))
        ?.split(' ')
        .pop(),
    );
  }
});

describe('STUN over IPv6 (server listening on ::1)', () => {
  it('answers with the IPv6 source, XORed with the transaction id', async () => {
    const t = await startTestServer({ listen: { host: '::1', port: 0 } });
    try {
      const c = await client('udp6');
      const id = randomBytes(12);
      c.socket.send(buildBindingRequest(id), t.server.stunPort!, '::1');
      await settle();
      expect(parseBindingResponse(c.received[0]!)?.mapped).toEqual({ address: '::1', port: c.port });
      c.close();
    } finally {
      await t.stop();
    }
  });
});

describe('StunResponder limits', () => {
  it('refills per source over time and refuses new sources while its table is full', () => {
    let now = 0;
    const r = new StunResponder(() => now, { perSourceRate: 1, perSourceBurst: 2, maxSources: 2 });
    const ask = (address: string) => r.answer(buildBindingRequest(randomBytes(12)), { address, port: 1 }) !== undefined;
    expect([ask('192.0.2.1'), ask('192.0.2.1'), ask('192.0.2.1')]).toEqual([true, true, false]);
    expect(ask('192.0.2.2')).toBe(true);
    expect(ask('192.0.2.3')).toBe(false); // table full
    now += 1_000;
    expect(ask('192.0.2.1')).toBe(true); // one token back
    now += 5_000; // everyone idle: forgotten, room again
    expect(ask('192.0.2.3')).toBe(true);
    expect(r.counts).toEqual({ answered: 5, refused: 2 });
  });
});
