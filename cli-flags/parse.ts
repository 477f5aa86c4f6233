import { HelpRequested, usageError } from './errors.ts';
import type { CommandSpec, FlagSpec, FlagSpecs, FlagValues } from './spec.ts';
import { commandUsage } from './usage.ts';
import { flagValue } from './value.ts';

interface ParsedCommand<F extends FlagSpecs> {
  flags: FlagValues<F>;
  positionals: string[];
}

const HELP = new Set(['--help', '-h']);

/**
 * Reads argv against a command's declaration: `--name value`, `--name=value`, booleans, and
 * positionals in any order; `--` ends the flags. `--help` anywhere before `--` wins over every
 * mistake. Throws HelpRequested or a UsageError; returns only a command line that fits.
 */
export function parseCommand<F extends FlagSpecs>(argv: readonly string[], spec: CommandSpec<F>): ParsedCommand<F> {
  const end = argv.indexOf('--');
  if (argv.slice(0, end < 0 ? undefined : end).some((a) => HELP.has(a))) throw new HelpRequested(commandUsage(spec));

  const byName = new Map<string, [string, FlagSpec]>();
  for (const [name, flag] of Object.entries(spec.flags))
    for (const spelling of [name, ...(flag.aliases ?? [])]) byName.set(spelling, [name, flag]);

  const given = new Map<string, unknown[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const spelled = eq < 0 ? arg : arg.slice(0, eq);
    const found = spelled.startsWith('--') ? byName.get(spelled.slice(2)) : undefined;
    if (!found) throw usageError('cli.unknown_flag', `unknown flag ${spelled}`, spec.name);
    const [name, flag] = found;
    const previous = given.get(name) ?? [];
    if (previous.length > 0 && (flag.type === 'boolean' || !flag.repeatable))
      throw usageError('cli.given_twice', `${spelled} given twice`, spec.name);
    if (flag.type === 'boolean') {
      given.set(name, [
        booleanValue(spelled, flag.negatable === true, eq < 0 ? undefined : arg.slice(eq + 1), spec.name),
      ]);
      continue;
    }
    let text: string | undefined;
    if (eq >= 0) text = arg.slice(eq + 1);
    else {
      text = argv[i + 1];
      if (text === undefined || text.startsWith('--'))
        throw usageError('cli.missing_value', `${spelled} needs a value`, spec.name);
      i += 1;
    }
    given.set(name, [...previous, flagValue(spelled, flag, text, spec.name)]);
  }

  checkPositionals(positionals, spec);
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    const got = given.get(name);
    if (flag.type === 'boolean') values[name] = got?.[0] ?? (flag.negatable ? undefined : false);
    else if (got === undefined && flag.required) throw usageError('cli.missing_flag', `missing --${name}`, spec.name);
    else if (flag.repeatable) values[name] = got ?? (flag.default === undefined ? [] : [flag.default]);
    else values[name] = got?.[0] ?? flag.default;
  }
  return { flags: values as FlagValues<F>, positionals };
}

/** `--name` is true; a negatable flag also takes `=true` and `=false`, nothing else. */
function booleanValue(spelled: string, negatable: boolean, text: string | undefined, commandName: string): boolean {
  if (text === undefined) return true;
  if (!negatable) throw usageError('cli.unexpected_value', `${spelled} takes no value`, commandName);
  if (text === 'true' || text === 'false') return text === 'true';
  throw usageError('cli.bad_value', `${spelled}: "${text}" must be true or false`, commandName);
}

function checkPositionals(positionals: string[], spec: CommandSpec<FlagSpecs>): void {
  const declared = spec.positionals ?? [];
  const needed = declared.filter((p) => !p.optional && !p.variadic);
  if (positionals.length < needed.length) {
    const missing = needed.slice(positionals.length).map((p) => p.name);
    throw usageError('cli.missing_argument', `missing ${missing.join(' and ')}`, spec.name);
  }
  if (!declared.at(-1)?.variadic && positionals.length > declared.length)
    throw usageError('cli.unexpected_argument', `unexpected argument "${positionals[declared.length]}"`, spec.name);
}
