import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startServer, type StartOptions } from '../../app.ts';
import { command, parseCommand, type FlagSpecs } from '../../../cli-flags/index.ts';
import { CONFIG_KEYS, loadConfig } from '../../config/load.ts';
import type { ServerConfig } from '../../config/schema.ts';
import type { CliIO } from '../io.ts';
import { onReachableOrigin, reachability, type Reachability } from '../reachability.ts';
import { adminFlags, firstStartBanner, reachabilityNote } from '../start-banner.ts';

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/**
 * Every config key is a flag: `--listen.port`, also spelt `--listen-port`; a top-level key goes
 * by its kebab-case name (`--data-dir`). The config loader checks the values, naming the flag.
 */
const CONFIG_FLAGS: FlagSpecs = Object.fromEntries(
  CONFIG_KEYS.map((key) => {
    const parts = key.split('.');
    const dashed = parts.map(kebab).join('-');
    const name = parts.length === 1 ? dashed : key;
    const env = `TRELLIS_${parts.map(snake).join('_')}`;
    return [
      name,
      { type: 'string', hidden: true, aliases: [key, dashed].filter((a) => a !== name), help: `or ${env}` },
    ];
  }),
);

/** The config flags for `--help`, a few to a line. */
function configFlagList(): string {
  const lines: string[] = [];
  for (const name of Object.keys(CONFIG_FLAGS)) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + name.length + 4 <= 96) lines[lines.length - 1] = `${last}  --${name}`;
    else lines.push(`  --${name}`);
  }
  return lines.join('\n');
}

export const SERVE = command({
  name: 'trellis-server serve',
  summary:
    'Runs the coordination server until SIGINT/SIGTERM. Config comes from the file, then the\n' +
    'environment, then flags; later sources win. On first start it issues the admin key.',
  flags: {
    ...CONFIG_FLAGS,
    config: { type: 'string', value: 'FILE', help: 'a YAML config file (or TRELLIS_CONFIG)' },
  },
  notes: [
    'Every config key is a flag too (--listen.port 8080, or --listen-port), and TRELLIS_<KEY> in the',
    'environment (TRELLIS_LISTEN_PORT):',
    configFlagList(),
    'e.g. trellis-server serve --listen.host 0.0.0.0 --public-url http://203.0.113.7:8080',
  ].join('\n'),
});

/** Runs the server until SIGINT/SIGTERM. On first start, issues the bootstrap admin key. */
export async function serveCommand(argv: string[], io: CliIO): Promise<number> {
  const { flags: values } = parseCommand(argv, SERVE);
  const { config: file, ...given } = values;
  const flags = Object.fromEntries(Object.entries(given).filter((e): e is [string, string] => e[1] !== undefined));
  const config = loadConfig({ file: file ?? io.env.TRELLIS_CONFIG, env: io.env, flags });
  let issued: string | undefined;
  const server = await startServer(config, {
    beforeListen: async (parts) => {
      issued = await issueBootstrapKey(parts, config);
    },
  });
  const reach = reachability(config.listen, config.publicUrl, server.url);
  bootstrap(server, config, io, reach, issued);
  if (config.oidc.providers.length === 0) await printSignInLink(server, io, reach);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  server.logger.info('shutting down');
  await server.close();
  return 0;
}

/**
 * Without an identity provider nobody could sign in to the console: each start prints a link
 * that signs in once, within ten minutes, as the administrator (`trellis-server console link`
 * makes another).
 */
async function printSignInLink(
  server: Awaited<ReturnType<typeof startServer>>,
  io: CliIO,
  reach: Reachability,
): Promise<void> {
  const link = await server.signInLink({ role: 'admin', expiresInSeconds: 600 });
  const origin = reach.kind === 'wildcard' ? (reach.candidates[0] ?? `http://127.0.0.1:${reach.port}`) : server.url;
  io.err(
    [
      '',
      'Console (no identity provider configured): sign in once, within 10 minutes, as ' + link.email + ':',
      `  ${onReachableOrigin(link.url, origin)}`,
      '  (another: npx trellis-server console link; configure oidc.providers for everyday sign-in)',
      '',
    ].join('\n'),
  );
}

/**
 * On a store without API keys, the bootstrap admin key, written to `admin-api-key` in the data
 * directory before the port listens: whoever sees the server answer finds the file there.
 */
async function issueBootstrapKey(
  parts: Parameters<NonNullable<StartOptions['beforeListen']>>[0],
  config: ServerConfig,
): Promise<string | undefined> {
  if ((await parts.store.apiKeys.list()).length > 0) return undefined;
  const { secret } = await parts.keys.createApiKey({ scopes: ['admin'], description: 'bootstrap admin key' });
  writeFileSync(keyFile(config), `${secret}\n`, { mode: 0o600 });
  return secret;
}

function keyFile(config: ServerConfig): string {
  return join(config.dataDir, 'admin-api-key');
}

/** The first start's banner (a key was just issued), or the reachability note on a later one. */
function bootstrap(
  server: Awaited<ReturnType<typeof startServer>>,
  config: ServerConfig,
  io: CliIO,
  reach: Reachability,
  secret: string | undefined,
): void {
  if (secret === undefined) {
    // Loopback is a deliberate local setup; a wildcard without publicUrl breaks joins and sign-in links.
    if (reach.kind === 'wildcard') for (const line of reachabilityNote(reach)) io.err(line);
    return;
  }
  io.err(
    firstStartBanner({
      reach,
      relay: server.relay
        ? `UDP port ${server.relay.port} (WireGuard reflector and relay)${server.stunPort ? `, STUN also on UDP ${server.stunPort}` : ''}`
        : 'disabled (relay.udpPort = -1)',
      dataFile: resolve(config.dataDir, 'trellis.db'),
      adminKey: secret,
      keyFile: keyFile(config),
      adminFlags: adminFlags(
        reach.kind === 'wildcard' ? `http://127.0.0.1:${reach.port}` : server.url,
        config.dataDir,
        process.cwd(),
      ),
    }),
  );
}
