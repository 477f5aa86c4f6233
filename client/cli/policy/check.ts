/** `trellis policy check FILE`: syntax, meaning and embedded tests. */
import { parseArgs } from './args.ts';
import { CliError, type CliIO } from './io.ts';
import { loadPolicy } from './load.ts';

export async function check(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { values: [], switches: [] });
  const [file] = args.positional;
  if (!file || args.positional.length > 1) throw new CliError('usage: trellis policy check FILE', 2);
  const policy = await loadPolicy(io, file);
  if (!policy) return 1;
  io.stdout(`${file}: ok (${policy.rules.length} rules, ${policy.tests.length} tests passed)`);
  return 0;
}
