/**
 * `trellis policy SUBCOMMAND`: the policy-as-code tools. Each subcommand is one file; this one
 * dispatches and turns CliErrors into a message and an exit status.
 */
import { apply } from './apply.ts';
import { check } from './check.ts';
import { compile } from './compile.ts';
import { diff } from './diff.ts';
import { evalCommand } from './eval.ts';
import { fmt } from './fmt.ts';
import { CliError, type CliIO, processIO } from './io.ts';

export type { CliIO } from './io.ts';

const USAGE = `usage: trellis policy COMMAND
  check FILE                                   check syntax, meaning and embedded tests
  fmt FILE [--write | --check]                 print (or write, or verify) canonical formatting
  compile --policy F --topology F [--format tailscale]
                                               print every node's peers and packet filter
  eval --policy F --topology F --src NODE --dst NODE:PORT [--proto P]
                                               accept or deny, and the rules behind it
  diff OLD NEW --topology F [--json]           access a change grants and revokes
  apply FILE --server URL [--base FILE | --if-version N]
                                               upload to a running server (API key: --api-key or TRELLIS_API_KEY)`;

const COMMANDS: Record<string, (argv: string[], io: CliIO) => Promise<number>> = {
  check,
  fmt,
  compile,
  eval: evalCommand,
  diff,
  apply: (argv, io) => apply(argv, io),
};

export async function policyCommand(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    io.stderr(
      name === undefined || name === 'help' || name === '--help' ? USAGE : `unknown command "${name}"\n${USAGE}`,
    );
    return name === 'help' || name === '--help' ? 0 : 2;
  }
  try {
    return await command(rest, io);
  } catch (e) {
    if (e instanceof CliError) {
      io.stderr(e.message);
      return e.exitCode;
    }
    throw e;
  }
}
