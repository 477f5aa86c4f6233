import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relayAnswersStun, STUN_CHECK } from '../../../client/paths/relay-stun-check.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

/** Against a real server on loopback, and a UDP port that swallows everything (UDP blocked). */
describe('checking with STUN whether UDP reaches the relay', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('the relay port answers: yes, without waiting out the requests', async () => {
    const started = performance.now();
    expect(await relayAnswersStun(`127.0.0.1:${t.server.relay!.port}`)).toBe(true);
    expect(performance.now() - started).toBeLessThan(STUN_CHECK.intervalMs);
  });

  it('nothing answers: no, after three requests and a last wait (under a second)', async () => {
    const sink = createSocket('udp4');
    let requests = 0;
    sink.on('message', () => (requests += 1));
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    try {
      const started = performance.now();
      expect(await relayAnswersStun(`127.0.0.1:${sink.address().port}`)).toBe(false);
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(
        (STUN_CHECK.requests - 1) * STUN_CHECK.intervalMs + STUN_CHECK.lastWaitMs - 5,
      );
      expect(took).toBeLessThan(1_500);
      expect(requests).toBe(STUN_CHECK.requests);
    } finally {
      sink.close();
    }
  });

  it('an endpoint that is not ip:port: no verdict, nothing sent', async () => {
    expect(await relayAnswersStun('relay.example:3478')).toBeUndefined();
    expect(await relayAnswersStun('127.0.0.1')).toBeUndefined();
    expect(await relayAnswersStun('127.0.0.1:0')).toBeUndefined();
  });
});
