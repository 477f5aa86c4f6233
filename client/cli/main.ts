import { policyCommand } from './policy/index.ts';

const USAGE = `usage: trellis COMMAND ...

  policy check|fmt|compile|eval|diff|apply ...   policy-as-code tools (trellis policy help)`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  policy: (argv) => policyCommand(argv),
};

/** The `trellis` CLI: dispatches to each command's own module. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    const asked = name === 'help' || name === '--help' || name === '-h';
    (asked ? process.stdout : process.stderr).write(`${name && !asked ? `trellis: unknown command "${name}"\n\n` : ''}${USAGE}\n`);
    return asked ? 0 : 2;
  }
  return command(rest);
}
