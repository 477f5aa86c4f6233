import type { PrefixView } from '../../../protocol/admin.ts';
import { command, group, parseCommand, selectCommand } from '../../../cli-flags/index.ts';
import { CONNECTION_FLAGS, JSON_FLAG, adminClient } from '../admin-client.ts';
import type { CliIO } from '../io.ts';
import { printList } from '../output.ts';

export const ROUTES = group({
  name: 'trellis-server routes',
  summary: 'Subnet routes and exit nodes: which router carries each prefix, and why.',
  commands: {
    list: command({
      name: 'trellis-server routes list',
      summary: 'every advertised prefix: its primary, its standbys in takeover order, every router and why',
      flags: { ...CONNECTION_FLAGS, ...JSON_FLAG },
    }),
  },
});

export async function routesCommand(argv: string[], io: CliIO): Promise<number> {
  const { rest } = selectCommand(argv, ROUTES);
  const { flags: values } = parseCommand(rest, ROUTES.commands.list);
  const { items } = await adminClient(values, io.env).call<{ items: PrefixView[] }>('GET', '/api/v1/routes');
  if (values.json) {
    io.out(JSON.stringify(items, null, 2));
    return 0;
  }
  // One line per router of each prefix, the primary first: the table reads as the takeover order.
  const rows = items.flatMap((p) =>
    p.routers.map((r, i) => ({ prefix: i === 0 ? p.prefix : '', router: r, why: i === 0 ? p.reason : '' })),
  );
  printList(
    rows,
    false,
    [
      ['PREFIX', (x) => x.prefix],
      ['ROUTER', (x) => x.router.name],
      ['ROLE', (x) => x.router.role],
      ['PRIORITY', (x) => String(x.router.priority)],
      ['STATE', (x) => x.router.reason],
      ['WHY', (x) => x.why],
    ],
    io.out,
  );
  return 0;
}
