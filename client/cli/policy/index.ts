/**
 * `trellis policy SUBCOMMAND`: the policy-as-code tools. Each subcommand is one file; this one
 * dispatches and turns CliErrors into a message and an exit status.
 */
import { group, selectCommand, usageOutcome } from '../../../cli-flags/index.ts';
import { APPLY, apply } from './apply.ts';
import { CHECK, check } from './check.ts';
import { COMPILE, compile } from './compile.ts';
import { DIFF, diff } from './diff.ts';
import { EVAL, evalCommand } from './eval.ts';
import { FMT, fmt } from './fmt.ts';
import { CliError, type CliIO, processIO } from './io.ts';

export type { CliIO } from './io.ts';

export const POLICY = group({
  name: 'trellis policy',
  summary: 'Policy as code: check, format, compile and evaluate a policy file, compare two, apply one.',
  commands: { check: CHECK, fmt: FMT, compile: COMPILE, eval: EVAL, diff: DIFF, apply: APPLY },
});

const RUN: Record<keyof typeof POLICY.commands, (argv: string[], io: CliIO) => Promise<number>> = {
  check,
  fmt,
  compile,
  eval: evalCommand,
  diff,
  apply: (argv, io) => apply(argv, io),
};

export async function policyCommand(argv: string[], io: CliIO = processIO): Promise<number> {
  try {
    const { name, rest } = selectCommand(argv, POLICY);
    return await RUN[name](rest, io);
  } catch (e) {
    const usage = usageOutcome(e);
    if (usage) {
      (usage.stream === 'stdout' ? io.stdout : io.stderr)(usage.text);
      return usage.exitCode;
    }
    if (e instanceof CliError) {
      io.stderr(e.message);
      return e.exitCode;
    }
    throw e;
  }
}
