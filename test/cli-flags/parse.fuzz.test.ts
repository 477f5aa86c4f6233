/**
 * Any command line gives either the declared values or one usage error: never another exception,
 * never a value outside its declaration, and every error one line that names the command.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HelpRequested, UsageError, command, parseCommand } from '../../cli-flags/index.ts';
import { fuzz } from '../support/fuzz.ts';

const SPEC = command({
  name: 'trellis test',
  summary: 'a command with one flag of each kind',
  positionals: [{ name: 'A' }, { name: 'B', optional: true }],
  flags: {
    n: { type: 'number', integer: true, min: -5, max: 5, help: 'a bounded whole number' },
    x: { type: 'number', min: 0.5, max: 2, default: 1, help: 'a bounded number' },
    s: { type: 'string', choices: ['a', 'b'], help: 'a choice' },
    r: { type: 'string', repeatable: true, help: 'repeatable' },
    q: { type: 'string', required: true, help: 'required' },
    b: { type: 'boolean', help: 'a boolean' },
  },
});

/** Tokens near the flags' spellings, so that most command lines reach deep into the parser. */
const token = fc.oneof(
  fc.constantFrom('--n', '--x', '--s', '--r', '--q', '--b', '--', '-', '-h', '--help', '--n=', '--b=1', '-1', '--q='),
  fc.constantFrom('0', '5', '6', '-5', '1.5', '2.0001', 'a', 'b', 'c', '1e2', '0x1', ' 1', ''),
  fc.string({ maxLength: 8 }),
  fc.string({ maxLength: 6 }).map((s) => `--${s}`),
);

describe('parseCommand on any command line', () => {
  it('returns declared values or throws one usage error', () => {
    fuzz(
      fc.property(fc.array(token, { maxLength: 10 }), (argv) => {
        let parsed;
        try {
          parsed = parseCommand(argv, SPEC);
        } catch (err) {
          if (err instanceof HelpRequested) return argv.includes('--help') || argv.includes('-h');
          expect(err).toBeInstanceOf(UsageError);
          const { code, message } = err as UsageError;
          expect(code).toMatch(/^cli\.[a-z_]+$/);
          expect(message).not.toContain('\n');
          expect(message).toMatch(/ for `trellis test`; see `trellis test --help`$/);
          return true;
        }
        const { flags, positionals } = parsed;
        expect(flags.n === undefined || (Number.isInteger(flags.n) && flags.n >= -5 && flags.n <= 5)).toBe(true);
        expect(flags.x >= 0.5 && flags.x <= 2).toBe(true);
        expect([undefined, 'a', 'b']).toContain(flags.s);
        expect(typeof flags.q).toBe('string');
        expect(typeof flags.b).toBe('boolean');
        expect(Array.isArray(flags.r)).toBe(true);
        expect(positionals.length === 1 || positionals.length === 2).toBe(true);
        return true;
      }),
      { runs: 300 },
    );
  });
});
