import type { CommandEntry, CommandSpec, FlagSpec, GroupSpec } from './spec.ts';
import { placeholder } from './value.ts';

/** The widest flag column before a flag's help moves to its own line. */
const COLUMN = 26;

/** What follows a command's name in a one-line synopsis: positionals, required flags, `[options]`. */
function synopsis(spec: CommandSpec | GroupSpec | CommandEntry): string {
  if ('synopsis' in spec) return spec.synopsis;
  if ('commands' in spec) return `${Object.keys(spec.commands).join('|')} ...`;
  const parts = (spec.positionals ?? []).map((p) => {
    const name = p.variadic ? `${p.name}...` : p.name;
    return p.optional || p.variadic ? `[${name}]` : name;
  });
  const flags = Object.entries(spec.flags).filter(([, f]) => !f.hidden);
  for (const [name, f] of flags) if (f.type !== 'boolean' && f.required) parts.push(`--${name} ${placeholder(f)}`);
  if (flags.some(([, f]) => f.type === 'boolean' || !f.required)) parts.push('[options]');
  return parts.join(' ');
}

/** `--help` of one command: its synopsis (which shows the required flags), what it does, each flag, then its notes. */
export function commandUsage(spec: CommandSpec): string {
  const rows: Array<[string, string]> = Object.entries(spec.flags)
    .filter(([, f]) => !f.hidden)
    .map(([name, f]) => [flagColumn(name, f), flagHelp(f)]);
  rows.push(['-h, --help', 'this help']);
  return [
    `usage: ${spec.name} ${synopsis(spec)}`.trimEnd(),
    indent(spec.summary),
    '',
    ...table(rows),
    ...(spec.notes ? ['', indent(spec.notes)] : []),
  ].join('\n');
}

/** `--help` of a group: each subcommand with its synopsis and summary. */
export function groupUsage(spec: GroupSpec): string {
  const rows = Object.entries(spec.commands).map(([name, c]): [string, string] => [
    `${name} ${synopsis(c)}`.trimEnd(),
    c.summary,
  ]);
  return [
    `usage: ${spec.name} COMMAND ...`,
    indent(spec.summary),
    '',
    ...table(rows),
    '',
    `  \`${spec.name} COMMAND --help\` shows a command's flags.`,
    ...(spec.notes ? ['', indent(spec.notes)] : []),
  ].join('\n');
}

function flagColumn(name: string, f: FlagSpec): string {
  const value = placeholder(f);
  if (f.type === 'boolean') return `--${name}${f.negatable ? '[=false]' : ''}`;
  return `--${name}${value ? ` ${value}` : ''}${f.repeatable ? ' ...' : ''}`;
}

function flagHelp(f: FlagSpec): string {
  const extra: string[] = [];
  if (f.type !== 'boolean' && f.default !== undefined) extra.push(`default ${f.default}`);
  if (f.type !== 'boolean' && f.repeatable) extra.push('repeatable');
  return extra.length ? `${f.help} (${extra.join('; ')})` : f.help;
}

function table(rows: Array<[string, string]>): string[] {
  const width = Math.min(COLUMN, Math.max(0, ...rows.map(([left]) => left.length)));
  return rows.flatMap(([left, right]) => {
    const lines = right.split('\n');
    const pad = ' '.repeat(width + 4);
    const rest = lines.slice(1).map((l) => `${pad}${l}`);
    if (left.length > width) return [`  ${left}`, ...lines.slice(0, 1).map((l) => `${pad}${l}`), ...rest];
    return [`  ${left.padEnd(width)}  ${lines[0]}`.trimEnd(), ...rest];
  });
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
}
