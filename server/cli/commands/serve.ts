import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startServer } from '../../app.ts';
import { loadConfig } from '../../config/load.ts';
import { UsageError } from '../args.ts';
import type { CliIO } from '../io.ts';

export const SERVE_USAGE = `serve [--config FILE] [--<key> VALUE]...   e.g. --listen.port 8080 --data-dir /var/lib/trellis
        (every config key works as a flag and as TRELLIS_<KEY> in the environment)`;

/** Runs the server until SIGINT/SIGTERM. On first start, issues the bootstrap admin key. */
export async function serveCommand(argv: string[], io: CliIO): Promise<number> {
  const { file, flags } = splitFlags(argv);
  const config = loadConfig({ file: file ?? io.env.TRELLIS_CONFIG, env: io.env, flags });
  const server = await startServer(config);
  await bootstrap(server, config.dataDir, io);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  server.logger.info('shutting down');
  await server.close();
  return 0;
}

async function bootstrap(server: Awaited<ReturnType<typeof startServer>>, dataDir: string, io: CliIO): Promise<void> {
  if ((await server.store.apiKeys.list()).length > 0) return;
  const { secret } = await server.keys.createApiKey({ scopes: ['admin'], description: 'bootstrap admin key' });
  const keyFile = join(dataDir, 'admin-api-key');
  writeFileSync(keyFile, `${secret}\n`, { mode: 0o600 });
  io.err(
    [
      '',
      'Trellis is running.',
      `  URL:        ${server.url}`,
      `  Relay:      ${server.relay ? `UDP port ${server.relay.port} (WireGuard reflector and relay)${server.stunPort ? `, STUN also on UDP ${server.stunPort}` : ''}` : 'disabled (relay.udpPort = -1)'}`,
      `  Data:       ${resolve(dataDir, 'trellis.db')}`,
      `  Admin key:  ${secret}`,
      `              (shown once; saved to ${keyFile} with mode 0600 for the local CLI)`,
      '',
      'Join a first node:',
      '  npx trellis-server users create you@example.com',
      '  npx trellis-server preauthkeys create --user you@example.com',
      `  sudo npx trellis up --server ${server.url} --auth-key <the key that command printed>`,
      '',
    ].join('\n'),
  );
}

function splitFlags(argv: string[]): { file?: string; flags: Record<string, string> } {
  const flags: Record<string, string> = {};
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (name === 'config') file = value;
    else flags[name] = value;
  }
  return { file, flags };
}
