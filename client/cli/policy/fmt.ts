/** `trellis policy fmt FILE [--write | --check]`: canonical formatting, comments kept. */
import { checkSyntax, formatDiagnostic, formatPolicy } from '../../../policy/index.ts';
import { parseArgs } from './args.ts';
import { CliError, type CliIO } from './io.ts';
import { readText } from './load.ts';

export async function fmt(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { values: [], switches: ['write', 'check'] });
  const [file] = args.positional;
  if (!file || args.positional.length > 1) throw new CliError('usage: trellis policy fmt FILE [--write | --check]', 2);
  const text = await readText(io, file);
  const problems = checkSyntax(text, file);
  for (const d of problems) io.stderr(formatDiagnostic(d));
  if (problems.length > 0) return 1;
  const formatted = formatPolicy(text);
  if (args.flags.has('check')) {
    if (formatted === text) return 0;
    io.stderr(`${file}: not formatted; run trellis policy fmt --write ${file}`);
    return 1;
  }
  if (args.flags.has('write')) {
    if (formatted !== text) await io.writeFile(file, formatted);
    return 0;
  }
  io.stdout(formatted);
  return 0;
}
