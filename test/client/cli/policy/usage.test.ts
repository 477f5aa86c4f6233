/** `trellis policy ...` on the shared flag parser: `--help` everywhere, one-line usage errors. */
import { beforeEach, describe, expect, it } from 'vitest';
import { policyCommand, type CliIO } from '../../../../client/cli/policy/index.ts';
import { processIO } from '../../../../client/cli/policy/io.ts';

let out: string[];
let err: string[];
const io: CliIO = {
  ...processIO,
  stdout: (t) => {
    out.push(t);
  },
  stderr: (t) => {
    err.push(t);
  },
};
const run = async (...argv: string[]) => ({
  code: await policyCommand(argv, io),
  out: out.join('\n'),
  err: err.join('\n'),
});

beforeEach(() => {
  out = [];
  err = [];
});

describe('trellis policy --help', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--help'], /^usage: trellis policy COMMAND \.\.\.\n(.|\n)* {2}eval --src NODE --dst NODE:PORT/],
    [['help'], /^usage: trellis policy COMMAND/],
    [
      ['eval', '--help'],
      /^usage: trellis policy eval --src NODE --dst NODE:PORT \[options\](.|\n)*Exit status: 0 accepted, 1 denied, 2/,
    ],
    [
      ['diff', '--help'],
      /^usage: trellis policy diff \[OLD\] NEW \[options\]\n(.|\n)*--format text\|json\|markdown(.|\n)*--record-version FILE/,
    ],
    [['diff', 'a.hujson', '-h'], /^usage: trellis policy diff /],
    [['check', '--help'], /^usage: trellis policy check FILE\n/],
    [['fmt', '--help'], /--write(.|\n)*--check/],
    [['compile', '--help'], /--format tailscale +the output shape \(default tailscale\)/],
    [['apply', '--help'], /^usage: trellis policy apply FILE \[options\](.|\n)*--if-version N/],
  ];
  for (const [argv, usage] of cases) {
    it(argv.join(' '), async () => {
      const r = await run(...argv);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toBe('');
      expect(r.out).toMatch(usage);
    });
  }
});

describe('trellis policy usage errors', () => {
  const cases: Array<[string[], string]> = [
    [['frobnicate'], 'unknown command "frobnicate" for `trellis policy`; see `trellis policy --help`'],
    [
      ['eval', '--policy', 'p', '--foo'],
      'unknown flag --foo for `trellis policy eval`; see `trellis policy eval --help`',
    ],
    [['eval', '--policy', 'p', '--topology', 't', '--dst', 'web:443'], 'missing --src for `trellis policy eval`'],
    [['diff'], 'missing NEW for `trellis policy diff`'],
    [['diff', 'a', 'b', '--json', '--format', 'markdown'], 'give --json or --format markdown, not both'],
    [['diff', 'a', 'b', '--record-version', 'v'], '--record-version records the live policy: give no OLD'],
    [['diff', 'a', 'b', '--topology', 't', '--topology', 'u'], '--topology given twice'],
    [
      ['compile', '--policy', 'p', '--topology', 't', '--format', 'cilium'],
      '--format: "cilium" must be one of tailscale',
    ],
    [['fmt', 'p.hujson', '--write', '--check'], 'give --write or --check, not both'],
    [['apply', 'p.hujson', '--if-version', 'latest'], '--if-version: "latest" must be a whole number'],
    [['apply', 'p.hujson', '--server', 'http://s', '--api-key', 'k', '--base', 'b', '--if-version', '3'], 'not both'],
  ];
  for (const [argv, message] of cases) {
    it(argv.join(' '), async () => {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.err).toContain(message);
      expect(r.err.split('\n')).toHaveLength(1);
    });
  }
});
