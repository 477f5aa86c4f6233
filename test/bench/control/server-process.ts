/**
 * The server under test, in its own process so its memory and CPU can be read alone.
 * Prints one JSON line with its URL and an admin key, then serves until killed.
 */
import pino from 'pino';
import { startServer } from '../../../server/app.ts';
import { ServerConfig } from '../../../server/config/schema.ts';

async function main(): Promise<void> {
  const dataDir = process.argv[2]!;
  const config = ServerConfig.parse({
    dataDir,
    listen: { host: '127.0.0.1', port: 0 },
    relay: { udpPort: 0 },
    limits: { authPerMinute: 10_000_000, maxBodyBytes: 8 << 20 },
    log: { level: 'warn' },
  });
  const server = await startServer(config, { logger: pino({ level: 'warn' }, pino.destination(2)) });
  const { secret } = await server.keys.createApiKey({ scopes: ['admin'], description: 'bench' });
  await server.users.create({ email: 'bench@example.com', groups: [] });
  process.stdout.write(`${JSON.stringify({ url: server.url, adminKey: secret })}\n`);
}

process.on('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile
void main();
