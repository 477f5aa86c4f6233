import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../server/app.ts';
import { ServerConfig } from '../../server/config/schema.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** Binds a UDP port on loopback and closes it again; rejects when the port is taken. */
function bindUdp(port: number): Promise<number> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => {
      const bound = socket.address().port;
      socket.close(() => resolve(bound));
    });
  });
}

describe('startServer', () => {
  let first: TestServer;
  let dir: string;

  beforeAll(async () => {
    first = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'trellis-start-'));
  });
  afterAll(async () => {
    await first?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops what it had started when a later step fails: a busy HTTP port leaves the relay port free', async () => {
    const relayPort = await bindUdp(0);
    const config = ServerConfig.parse({
      dataDir: dir,
      listen: { host: '127.0.0.1', port: Number(new URL(first.url).port) },
      relay: { udpPort: relayPort, stunPort: -1 },
    });

    await expect(startServer(config, { logger: pino({ level: 'silent' }) })).rejects.toMatchObject({
      name: 'PortError',
      code: 'port.in_use',
    });
    expect(await bindUdp(relayPort)).toBe(relayPort);
  });
});
