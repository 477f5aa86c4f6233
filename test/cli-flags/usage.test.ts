import { describe, expect, it } from 'vitest';
import { command, commandUsage, group, groupUsage } from '../../cli-flags/index.ts';

describe('usage text', () => {
  const diff = command({
    name: 'trellis policy diff',
    summary: 'Access a change grants and revokes.',
    positionals: [{ name: 'OLD' }, { name: 'NEW' }],
    flags: {
      topology: { type: 'string', value: 'FILE', required: true, help: 'the nodes' },
      format: { type: 'string', choices: ['text', 'json'], default: 'text', help: 'output' },
      group: { type: 'string', repeatable: true, value: 'G', help: 'a group\nthe second line' },
      old: { type: 'string', hidden: true, help: 'a spelling kept for old scripts' },
    },
    notes: 'Exits 0.',
  });

  it('shows the synopsis, the summary, each visible flag with its default and repeatability, and the notes', () => {
    expect(commandUsage(diff)).toBe(
      [
        'usage: trellis policy diff OLD NEW --topology FILE [options]',
        '  Access a change grants and revokes.',
        '',
        '  --topology FILE     the nodes',
        '  --format text|json  output (default text)',
        '  --group G ...       a group',
        '                      the second line (repeatable)',
        '  -h, --help          this help',
        '',
        '  Exits 0.',
      ].join('\n'),
    );
  });

  it('lists a group subcommands with their synopses', () => {
    const users = group({
      name: 'trellis-server users',
      summary: 'Users.',
      commands: {
        create: command({
          name: 'trellis-server users create',
          summary: 'a new user',
          positionals: [{ name: 'EMAIL' }],
          flags: { json: { type: 'boolean', help: 'JSON' } },
        }),
        lazy: { summary: 'loaded on demand', synopsis: 'FILE' },
      },
    });
    expect(groupUsage(users)).toBe(
      [
        'usage: trellis-server users COMMAND ...',
        '  Users.',
        '',
        '  create EMAIL [options]  a new user',
        '  lazy FILE               loaded on demand',
        '',
        "  `trellis-server users COMMAND --help` shows a command's flags.",
      ].join('\n'),
    );
  });
});
