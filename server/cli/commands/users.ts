import type { UserView } from '../../../protocol/admin.ts';
import { command, group, parseCommand, selectCommand } from '../../../cli-flags/index.ts';
import { CONNECTION_FLAGS, JSON_FLAG, adminClient } from '../admin-client.ts';
import type { CliIO } from '../io.ts';
import { printList, printObject } from '../output.ts';

export const USERS = group({
  name: 'trellis-server users',
  summary: 'The people who sign in, and their groups.',
  commands: {
    list: command({
      name: 'trellis-server users list',
      summary: 'every user',
      flags: { ...CONNECTION_FLAGS, ...JSON_FLAG },
    }),
    create: command({
      name: 'trellis-server users create',
      summary: 'add a user (before they first sign in)',
      positionals: [{ name: 'EMAIL' }],
      flags: {
        ...CONNECTION_FLAGS,
        name: { type: 'string', value: 'NAME', help: 'the display name' },
        group: { type: 'string', value: 'G', repeatable: true, help: 'a group the user belongs to' },
      },
    }),
    delete: command({
      name: 'trellis-server users delete',
      summary: 'remove a user',
      positionals: [{ name: 'ID' }],
      flags: CONNECTION_FLAGS,
    }),
    'expire-nodes': command({
      name: 'trellis-server users expire-nodes',
      summary: 'every node of the user must sign in again',
      positionals: [{ name: 'ID' }],
      flags: CONNECTION_FLAGS,
    }),
  },
});

export async function usersCommand(argv: string[], io: CliIO): Promise<number> {
  const { name, rest } = selectCommand(argv, USERS);
  switch (name) {
    case 'list': {
      const { flags: values } = parseCommand(rest, USERS.commands.list);
      const client = adminClient(values, io.env);
      const { items } = await client.call<{ items: UserView[] }>('GET', '/api/v1/users');
      printList(
        items,
        values.json,
        [
          ['ID', (u) => u.id],
          ['EMAIL', (u) => u.email],
          ['NAME', (u) => u.displayName],
          ['GROUPS', (u) => u.groups.join(',')],
        ],
        io.out,
      );
      return 0;
    }
    case 'create': {
      const { flags: values, positionals } = parseCommand(rest, USERS.commands.create);
      const client = adminClient(values, io.env);
      const arg = positionals[0]!;
      printObject(
        await client.call('POST', '/api/v1/users', {
          email: arg,
          displayName: values.name,
          groups: values.group,
        }),
        io.out,
      );
      return 0;
    }
    case 'delete': {
      const { flags: values, positionals } = parseCommand(rest, USERS.commands.delete);
      const client = adminClient(values, io.env);
      const arg = positionals[0]!;
      await client.call('DELETE', `/api/v1/users/${encodeURIComponent(arg)}`);
      io.out(`deleted user ${arg}`);
      return 0;
    }
    case 'expire-nodes': {
      const { flags: values, positionals } = parseCommand(rest, USERS.commands['expire-nodes']);
      const client = adminClient(values, io.env);
      const arg = positionals[0]!;
      const { items } = await client.call<{ items: Array<{ name: string }> }>(
        'POST',
        `/api/v1/users/${encodeURIComponent(arg)}/expire-nodes`,
        {},
      );
      io.out(
        `expired ${items.length} node(s) of user ${arg}${items.length ? `: ${items.map((n) => n.name).join(', ')}` : ''}`,
      );
      return 0;
    }
  }
}
