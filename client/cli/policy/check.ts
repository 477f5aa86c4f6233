/** `trellis policy check FILE`: syntax, meaning and embedded tests. */
import { command, parseCommand } from '../../../cli-flags/index.ts';
import type { CliIO } from './io.ts';
import { loadPolicy } from './load.ts';

export const CHECK = command({
  name: 'trellis policy check',
  summary: 'Checks syntax, meaning and embedded tests; prints every problem as FILE:LINE:COL.',
  positionals: [{ name: 'FILE' }],
  flags: {},
});

export async function check(argv: string[], io: CliIO): Promise<number> {
  const file = parseCommand(argv, CHECK).positionals[0]!;
  const policy = await loadPolicy(io, file);
  if (!policy) return 1;
  io.stdout(`${file}: ok (${policy.rules.length} rules, ${policy.tests.length} tests passed)`);
  return 0;
}
