import { command, parseCommand } from '../../../cli-flags/index.ts';
import { loadConfig } from '../../config/load.ts';
import { copySqliteToPostgres } from '../../store/migrate/copy.ts';
import type { CliIO } from '../io.ts';

export const MIGRATE = command({
  name: 'trellis-server migrate',
  summary:
    'Copies a deployment from SQLite to PostgreSQL: every node keeps its id, keys and addresses,\n' +
    'so none joins again. Stop the server first; start it (or its replicas) on PostgreSQL after.',
  flags: {
    from: { type: 'string', value: 'FILE', help: 'the SQLite database (DATA_DIR/trellis.db)' },
    to: { type: 'string', value: 'URL', help: 'postgresql:// URL (default: the libpq PG* environment variables)' },
    'tls-mode': { type: 'string', choices: ['disable', 'require', 'verify-full'], help: 'as store.tls.mode' },
    'tls-ca': { type: 'string', value: 'FILE', help: 'as store.tls.ca' },
    replace: { type: 'boolean', help: 'empty a target that already holds a deployment first' },
  },
  notes: 'e.g. trellis-server migrate --from ./data/trellis.db --to postgresql://trellis@db/trellis',
});

export async function migrateCommand(argv: string[], io: CliIO): Promise<number> {
  const { flags } = parseCommand(argv, MIGRATE);
  // The target is checked as store.* would be in the configuration, naming the same keys.
  const { store } = loadConfig({
    flags: {
      'store.driver': 'postgres',
      ...(flags.to !== undefined && { 'store.url': flags.to }),
      ...(flags['tls-mode'] !== undefined && { 'store.tls.mode': flags['tls-mode'] }),
      ...(flags['tls-ca'] !== undefined && { 'store.tls.ca': flags['tls-ca'] }),
    },
  });
  const from = flags.from ?? './data/trellis.db';
  const { rows } = await copySqliteToPostgres(
    from,
    {
      ...(store.url !== undefined && { url: store.url }),
      ...(store.tls.mode !== 'disable' && {
        tls: { mode: store.tls.mode, ...(store.tls.ca !== undefined && { ca: store.tls.ca }) },
      }),
      poolSize: 1,
      connectTimeoutMs: store.connectTimeoutMs,
    },
    { replace: flags.replace === true },
  );
  const summary = Object.entries(rows)
    .map(([table, n]) => `${table} ${n}`)
    .join(', ');
  io.out(`copied ${from} to PostgreSQL: ${summary}`);
  io.out('start the server with --store.driver postgres (and the same URL); keep its data directory (relay key).');
  return 0;
}
