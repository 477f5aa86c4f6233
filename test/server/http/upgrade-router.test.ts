import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.ts';

describe('WebSocket upgrades', () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    await t.stop();
  });

  it('survive peers that hang up before their refusal is written (a load balancer cutting connections)', async () => {
    const { hostname, port } = new URL(t.url);
    // An unproved map stream upgrade is refused after the proof check; each peer resets first.
    await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<void>((resolve) => {
            const s = connect(Number(port), hostname, () => {
              s.write(
                'GET /api/v1/machine/map HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
                  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Trellis-Machine x\r\n\r\n',
                () => s.resetAndDestroy(),
              );
            });
            s.on('close', () => resolve());
            s.on('error', () => undefined);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});
