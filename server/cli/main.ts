import { TrellisError } from '../errors.ts';
import { PortError } from '../port-error.ts';
import { RelayError } from '../relay/errors.ts';
import { AdminError } from './admin-client.ts';
import { UsageError } from './args.ts';
import { AUDIT_USAGE, auditCommand } from './commands/audit.ts';
import { APIKEYS_USAGE, PREAUTH_USAGE, apiKeysCommand, preAuthKeysCommand } from './commands/keys.ts';
import { NODES_USAGE, nodesCommand } from './commands/nodes.ts';
import { POLICY_USAGE, policyCommand } from './commands/policy.ts';
import { SERVE_USAGE, serveCommand } from './commands/serve.ts';
import { USERS_USAGE, usersCommand } from './commands/users.ts';
import { processIO, type CliIO } from './io.ts';

const COMMANDS: Record<string, (argv: string[], io: CliIO) => Promise<number>> = {
  serve: serveCommand,
  users: usersCommand,
  nodes: nodesCommand,
  preauthkeys: preAuthKeysCommand,
  apikeys: apiKeysCommand,
  policy: policyCommand,
  audit: auditCommand,
};

const USAGE = `usage: trellis-server COMMAND ...

  ${SERVE_USAGE}
  ${USERS_USAGE}
  ${NODES_USAGE}
  ${PREAUTH_USAGE}
  ${APIKEYS_USAGE}
  ${POLICY_USAGE}
  ${AUDIT_USAGE}

Admin commands talk to a running server: --server URL (or TRELLIS_SERVER; default
http://127.0.0.1:8080) and --api-key KEY (or TRELLIS_API_KEY, or ./data/admin-api-key).`;

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.out(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`trellis-server: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`trellis-server ${name}: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (
      err instanceof AdminError ||
      err instanceof TrellisError ||
      err instanceof PortError ||
      err instanceof RelayError
    ) {
      io.err(`trellis-server ${name}: ${err.message} [${err.code}]`);
      return 1;
    }
    throw err;
  }
}
