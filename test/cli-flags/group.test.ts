import { describe, expect, it } from 'vitest';
import { HelpRequested, command, group, selectCommand } from '../../cli-flags/index.ts';

const NODES = group({
  name: 'trellis-server nodes',
  summary: 'Nodes.',
  commands: {
    list: command({ name: 'trellis-server nodes list', summary: 'every node', flags: {} }),
    get: command({ name: 'trellis-server nodes get', summary: 'one node', positionals: [{ name: 'ID' }], flags: {} }),
  },
});

describe('selectCommand', () => {
  it('picks the subcommand named first and hands on the rest', () => {
    expect(selectCommand(['get', 'n1', '--json'], NODES)).toEqual({ name: 'get', rest: ['n1', '--json'] });
  });

  it('answers help, --help and -h with the group usage', () => {
    for (const first of ['help', '--help', '-h']) expect(() => selectCommand([first], NODES)).toThrow(HelpRequested);
  });

  it('refuses an unknown subcommand or a flag before one in one line, and no subcommand with the group usage', () => {
    expect(() => selectCommand([], NODES)).toThrow(
      expect.objectContaining({
        code: 'cli.missing_command',
        message: expect.stringMatching(/^usage: trellis-server nodes COMMAND/),
      }),
    );
    expect(() => selectCommand(['frob'], NODES)).toThrow(
      expect.objectContaining({
        code: 'cli.unknown_command',
        message: expect.stringContaining('unknown command "frob"'),
      }),
    );
    expect(() => selectCommand(['--foo=1'], NODES)).toThrow(
      'unknown flag --foo for `trellis-server nodes`; see `trellis-server nodes --help`',
    );
    expect(() => selectCommand(['toString'], NODES)).toThrow('unknown command "toString"');
  });
});
