import { describe, expect, expectTypeOf, it } from 'vitest';
import { HelpRequested, UsageError, command, parseCommand } from '../../cli-flags/index.ts';

const PING = command({
  name: 'trellis ping',
  summary: 'Probes a peer.',
  positionals: [{ name: 'PEER' }],
  flags: {
    count: { type: 'number', integer: true, min: 1, max: 1000, default: 3, help: 'probes to send' },
    timeout: { type: 'number', min: 0.1, max: 60, help: 'seconds per probe' },
    tag: { type: 'string', repeatable: true, help: 'a tag' },
    proto: { type: 'string', choices: ['tcp', 'udp'], help: 'protocol' },
    topology: { type: 'string', required: true, aliases: ['topo'], help: 'topology file' },
    json: { type: 'boolean', help: 'JSON output' },
  },
});

const parse = (argv: string[]) => parseCommand(argv, PING);
function usageError(argv: string[]): UsageError {
  try {
    parse(argv);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('parseCommand', () => {
  it('reads --name value, --name=value, booleans and positionals in any order, with typed values', () => {
    const { flags, positionals } = parse(['--count=5', 'web', '--topology', 'net.json', '--json', '--tag', 'a']);
    expect(flags).toEqual({
      count: 5,
      timeout: undefined,
      tag: ['a'],
      proto: undefined,
      topology: 'net.json',
      json: true,
    });
    expect(positionals).toEqual(['web']);
    expectTypeOf(flags.count).toEqualTypeOf<number>();
    expectTypeOf(flags.timeout).toEqualTypeOf<number | undefined>();
    expectTypeOf(flags.tag).toEqualTypeOf<string[]>();
    expectTypeOf(flags.proto).toEqualTypeOf<'tcp' | 'udp' | undefined>();
    expectTypeOf(flags.topology).toEqualTypeOf<string>();
    expectTypeOf(flags.json).toEqualTypeOf<boolean>();
  });

  it('fills defaults: the declared default, false for a boolean, [] for a repeatable flag', () => {
    const { flags } = parse(['web', '--topology', 't']);
    expect(flags).toMatchObject({ count: 3, json: false, tag: [] });
  });

  it('collects a repeatable flag in order, and takes an alias as the same flag', () => {
    expect(parse(['web', '--topo', 't', '--tag', 'a', '--tag=b']).flags).toMatchObject({
      topology: 't',
      tag: ['a', 'b'],
    });
  });

  it('takes everything after -- as positionals, and a negative number as a positional or a value', () => {
    expect(parse(['--topology', 't', '--', '--json']).positionals).toEqual(['--json']);
    expect(parse(['-1', '--topology', 't']).positionals).toEqual(['-1']);
  });

  it('answers --help or -h anywhere with the command usage, even beside mistakes', () => {
    for (const argv of [['--help'], ['-h'], ['--nope', 'x', '-h'], ['web', '--count', 'many', '--help']]) {
      expect(() => parse(argv), argv.join(' ')).toThrow(HelpRequested);
    }
    try {
      parse(['--help']);
    } catch (err) {
      expect((err as HelpRequested).usage).toMatch(/^usage: trellis ping PEER --topology VALUE \[options\]/);
    }
    // After --, "--help" is an argument like any other (a peer could be named so).
    expect(parse(['--topology', 't', '--', '--help']).positionals).toEqual(['--help']);
  });

  it('refuses each kind of mistake with one line, a stable code, and where to look', () => {
    const cases: Array<[string[], string, string]> = [
      [['web', '--topology', 't', '--foo'], 'cli.unknown_flag', 'unknown flag --foo'],
      [['web', '--topology', 't', '-x'], 'cli.unknown_flag', 'unknown flag -x'],
      [['web', '--topology', 't', '--foo=1'], 'cli.unknown_flag', 'unknown flag --foo'],
      [['web', '--topology'], 'cli.missing_value', '--topology needs a value'],
      [['web', '--topology', '--json'], 'cli.missing_value', '--topology needs a value'],
      [['web', '--topology', 'a', '--topo', 'b'], 'cli.given_twice', '--topo given twice'],
      [['web', '--topology', 'a', '--json', '--json'], 'cli.given_twice', '--json given twice'],
      [['web', '--topology', 'a', '--json=yes'], 'cli.unexpected_value', '--json takes no value'],
      [
        ['web', '--topology', 'a', '--count', 'many'],
        'cli.bad_value',
        '--count: "many" must be a whole number from 1 to 1000',
      ],
      [['web', '--topology', 'a', '--count', '2.5'], 'cli.bad_value', 'must be a whole number'],
      [['web', '--topology', 'a', '--count', '0'], 'cli.bad_value', 'from 1 to 1000'],
      [['web', '--topology', 'a', '--count', '1e3'], 'cli.bad_value', 'must be a whole number'],
      [
        ['web', '--topology', 'a', '--timeout', '61'],
        'cli.bad_value',
        '--timeout: "61" must be a number from 0.1 to 60',
      ],
      [['web', '--topology', 'a', '--proto', 'icmp'], 'cli.bad_value', '--proto: "icmp" must be one of tcp, udp'],
      [['web'], 'cli.missing_flag', 'missing --topology'],
      [['--topology', 'a'], 'cli.missing_argument', 'missing PEER'],
      [['web', 'db', '--topology', 'a'], 'cli.unexpected_argument', 'unexpected argument "db"'],
    ];
    for (const [argv, code, problem] of cases) {
      const err = usageError(argv);
      expect(err.code, argv.join(' ')).toBe(code);
      expect(err.exitCode).toBe(2);
      expect(err.message).toContain(problem);
      expect(err.message).toMatch(/ for `trellis ping`; see `trellis ping --help`$/);
      expect(err.message).not.toContain('\n');
    }
  });

  it('reads a negatable boolean as true, =true or =false, and leaves it undefined when absent', () => {
    const up = command({
      name: 'trellis up',
      summary: 'Joins.',
      flags: { snat: { type: 'boolean', negatable: true, help: 'masquerade' } },
    });
    const snat = (argv: string[]) => parseCommand(argv, up).flags.snat;
    expect([snat(['--snat']), snat(['--snat=true']), snat(['--snat=false']), snat([])]).toEqual([
      true,
      true,
      false,
      undefined,
    ]);
    expectTypeOf(snat([])).toEqualTypeOf<boolean | undefined>();
    expect(() => snat(['--snat=no'])).toThrow('--snat: "no" must be true or false for `trellis up`');
    expect(() => snat(['--snat', '--snat=false'])).toThrow('--snat given twice');
  });

  it('takes optional and variadic positionals', () => {
    const tag = command({
      name: 'trellis-server nodes tag',
      summary: 'Tags a node.',
      positionals: [{ name: 'ID' }, { name: 'TAG', variadic: true }],
      flags: {},
    });
    expect(parseCommand(['n1'], tag).positionals).toEqual(['n1']);
    expect(parseCommand(['n1', 'tag:a', 'tag:b'], tag).positionals).toEqual(['n1', 'tag:a', 'tag:b']);
    expect(() => parseCommand([], tag)).toThrow('missing ID for `trellis-server nodes tag`');
  });
});
