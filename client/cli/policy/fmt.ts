/** `trellis policy fmt FILE [--write | --check]`: canonical formatting, comments kept. */
import { checkSyntax, formatDiagnostic, formatPolicy } from '../../../policy/index.ts';
import { command, parseCommand, usageError } from '../../../cli-flags/index.ts';
import type { CliIO } from './io.ts';
import { readText } from './load.ts';

export const FMT = command({
  name: 'trellis policy fmt',
  summary: 'Prints the policy in canonical formatting, comments kept.',
  positionals: [{ name: 'FILE' }],
  flags: {
    write: { type: 'boolean', help: 'rewrite FILE instead of printing' },
    check: { type: 'boolean', help: 'print nothing; exit 1 if FILE is not formatted' },
  },
});

export async function fmt(argv: string[], io: CliIO): Promise<number> {
  const { flags, positionals } = parseCommand(argv, FMT);
  if (flags.write && flags.check)
    throw usageError('cli.conflicting_flags', 'give --write or --check, not both', FMT.name);
  const file = positionals[0]!;
  const text = await readText(io, file);
  const problems = checkSyntax(text, file);
  for (const d of problems) io.stderr(formatDiagnostic(d));
  if (problems.length > 0) return 1;
  const formatted = formatPolicy(text);
  if (flags.check) {
    if (formatted === text) return 0;
    io.stderr(`${file}: not formatted; run trellis policy fmt --write ${file}`);
    return 1;
  }
  if (flags.write) {
    if (formatted !== text) await io.writeFile(file, formatted);
    return 0;
  }
  io.stdout(formatted);
  return 0;
}
