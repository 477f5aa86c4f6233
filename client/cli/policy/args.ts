/** Flags (`--name value`, `--switch`) and positional arguments of one subcommand. */
import { CliError } from './io.ts';

export interface Args {
  positional: string[];
  flags: Map<string, string | true>;
}

export function parseArgs(argv: string[], spec: { values: string[]; switches: string[] }): Args {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (spec.switches.includes(name)) {
      flags.set(name, true);
      continue;
    }
    if (!spec.values.includes(name)) throw new CliError(`unknown option --${name}`, 2);
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new CliError(`--${name} needs a value`, 2);
    flags.set(name, value);
  }
  return { positional, flags };
}

export function required(args: Args, name: string): string {
  const v = args.flags.get(name);
  if (typeof v !== 'string') throw new CliError(`missing --${name}`, 2);
  return v;
}
