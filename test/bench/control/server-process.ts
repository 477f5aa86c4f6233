/**
 * The server under test, in its own process so its memory and CPU can be read alone.
 * Prints one JSON line with its URL and an admin key, then serves until killed.
 *
 * Over IPC it also takes `seed` batches: registrations handed to the node service exactly as
 * the register handler hands them on, past the HTTP boundary (body parsing, key checks and the
 * machine-key proof, which the benchmark measures on the joins it makes over HTTP). That is how
 * a 50,000-node network is built in minutes on a shared machine.
 */
import pino from 'pino';
import { startServer } from '../../../server/app.ts';
import { ServerConfig } from '../../../server/config/schema.ts';
import { PROTOCOL_VERSION } from '../../../protocol/version.ts';

export interface SeedNode {
  machineKey: string;
  wireguardKey: string;
  hostname: string;
  authKey: string;
}

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
  process.on('message', (msg: { id: number; seed: SeedNode[] }) => {
    void (async () => {
      for (const n of msg.seed) {
        await server.nodes.register(
          {
            protocolVersion: PROTOCOL_VERSION,
            machineKey: n.machineKey,
            wireguardKey: n.wireguardKey,
            hostname: n.hostname,
            credential: { type: 'preauth-key', key: n.authKey },
          },
          n.machineKey,
        );
      }
      process.send!({ id: msg.id });
    })();
  });
  process.stdout.write(
    `${JSON.stringify({ url: server.url, adminKey: secret, relayPort: server.relay?.port ?? 0 })}\n`,
  );
}

process.on('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile
void main();
