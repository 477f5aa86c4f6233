import { group, selectCommand, usageOutcome } from '../../cli-flags/index.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { AUDIT, auditCommand } from './commands/audit.ts';
import { CA, caCommand } from './commands/ca.ts';
import { CONSOLE, consoleCommand } from './commands/console.ts';
import { APIKEYS, PREAUTH, apiKeysCommand, preAuthKeysCommand } from './commands/keys.ts';
import { MIGRATE, migrateCommand } from './commands/migrate.ts';
import { NODES, nodesCommand } from './commands/nodes.ts';
import { POLICY, policyCommand } from './commands/policy.ts';
import { REPLICAS, replicasCommand } from './commands/replicas.ts';
import { ROUTES, routesCommand } from './commands/routes.ts';
import { SERVE, serveCommand } from './commands/serve.ts';
import { USERS, usersCommand } from './commands/users.ts';
import { processIO, type CliIO } from './io.ts';

const TRELLIS_SERVER = group({
  name: 'trellis-server',
  summary: 'The Trellis coordination server, and the admin commands that talk to a running one.',
  commands: {
    serve: SERVE,
    users: USERS,
    nodes: NODES,
    preauthkeys: PREAUTH,
    apikeys: APIKEYS,
    policy: POLICY,
    routes: ROUTES,
    replicas: REPLICAS,
    audit: AUDIT,
    ca: CA,
    migrate: MIGRATE,
    console: CONSOLE,
  },
  notes: `Admin commands talk to a running server: --server URL (or TRELLIS_SERVER; default
http://127.0.0.1:8080) and --api-key KEY (or TRELLIS_API_KEY, or ./data/admin-api-key).`,
});

const RUN: Record<keyof typeof TRELLIS_SERVER.commands, (argv: string[], io: CliIO) => Promise<number>> = {
  serve: serveCommand,
  users: usersCommand,
  nodes: nodesCommand,
  preauthkeys: preAuthKeysCommand,
  apikeys: apiKeysCommand,
  policy: policyCommand,
  routes: routesCommand,
  replicas: replicasCommand,
  audit: auditCommand,
  ca: caCommand,
  migrate: migrateCommand,
  console: consoleCommand,
};

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  try {
    const { name, rest } = selectCommand(argv, TRELLIS_SERVER);
    try {
      return await RUN[name](rest, io);
    } catch (err) {
      // A coded error is an expected failure, told in one line; anything else is a bug, with its stack.
      if (err instanceof CodedError && !usageOutcome(err)) {
        io.err(`trellis-server ${name}: ${err.message} [${err.code}]`);
        return 1;
      }
      throw err;
    }
  } catch (err) {
    const usage = usageOutcome(err);
    if (!usage) throw err;
    (usage.stream === 'stdout' ? io.out : io.err)(usage.text);
    return usage.exitCode;
  }
}
