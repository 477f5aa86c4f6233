import type { UserView } from '../../../protocol/admin.ts';
import { CONNECTION_OPTIONS, adminClient } from '../admin-client.ts';
import { UsageError, parseFlags } from '../args.ts';
import type { CliIO } from '../io.ts';
import { printList, printObject } from '../output.ts';

export const USERS_USAGE = `users list [--json]
  users create EMAIL [--name NAME] [--group G]...
  users delete ID
  users expire-nodes ID             (every node of the user must sign in again)`;

export async function usersCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    ...CONNECTION_OPTIONS,
    name: { type: 'string' },
    group: { type: 'string', multiple: true },
  });
  const client = adminClient(values, io.env);
  const [action, arg] = positionals;
  switch (action) {
    case 'list': {
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
      if (!arg) throw new UsageError('users create needs an EMAIL');
      printObject(
        await client.call('POST', '/api/v1/users', {
          email: arg,
          displayName: values.name,
          groups: values.group ?? [],
        }),
        io.out,
      );
      return 0;
    }
    case 'delete': {
      if (!arg) throw new UsageError('users delete needs an ID');
      await client.call('DELETE', `/api/v1/users/${encodeURIComponent(arg)}`);
      io.out(`deleted user ${arg}`);
      return 0;
    }
    case 'expire-nodes': {
      if (!arg) throw new UsageError('users expire-nodes needs an ID');
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
    default:
      throw new UsageError(`unknown users action "${action ?? ''}"`);
  }
}
