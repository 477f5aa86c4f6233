import type { NodeView } from '../../../protocol/admin.ts';
import { command, group, parseCommand, selectCommand } from '../../../cli-flags/index.ts';
import { CONNECTION_FLAGS, JSON_FLAG, adminClient } from '../admin-client.ts';
import type { CliIO } from '../io.ts';
import { printList, printObject } from '../output.ts';

const ID = { name: 'ID' } as const;
const byId = (action: string, summary: string, more: ReadonlyArray<{ name: string; variadic?: boolean }> = []) =>
  command({
    name: `trellis-server nodes ${action}`,
    summary,
    positionals: [ID, ...more],
    flags: CONNECTION_FLAGS,
  });

export const NODES = group({
  name: 'trellis-server nodes',
  summary: 'The machines in the mesh.',
  commands: {
    list: command({
      name: 'trellis-server nodes list',
      summary: 'every node, online or not',
      flags: { ...CONNECTION_FLAGS, ...JSON_FLAG },
    }),
    get: byId('get', 'one node, as JSON'),
    delete: byId('delete', 'remove a node; it must join again'),
    expire: byId('expire', 'end the node key now; the node must sign in again'),
    rename: byId('rename', "change a node's name", [{ name: 'NAME' }]),
    tag: byId('tag', "set a node's tags (none: clear them)", [{ name: 'TAG', variadic: true }]),
    'approve-routes': byId('approve-routes', 'approve the subnet routes a node advertises', [
      { name: 'CIDR', variadic: true },
    ]),
  },
});

export async function nodesCommand(argv: string[], io: CliIO): Promise<number> {
  const { name: action, rest: args } = selectCommand(argv, NODES);
  if (action === 'list') {
    const { flags: values } = parseCommand(args, NODES.commands.list);
    const client = adminClient(values, io.env);
    const { items } = await client.call<{ items: NodeView[] }>('GET', '/api/v1/nodes');
    printList(
      items,
      values.json,
      [
        ['ID', (n) => n.id],
        ['NAME', (n) => n.name],
        ['IPV4', (n) => n.ipv4],
        ['IPV6', (n) => n.ipv6],
        ['OWNER', (n) => (n.tags.length ? n.tags.join(',') : (n.user ?? '-'))],
        ['ONLINE', (n) => (n.online ? 'yes' : 'no')],
        ['LAST SEEN', (n) => n.lastSeen ?? '-'],
      ],
      io.out,
    );
    return 0;
  }
  const { flags: values, positionals } = parseCommand(args, NODES.commands[action]);
  const client = adminClient(values, io.env);
  const [id, ...rest] = positionals as [string, ...string[]];
  const path = `/api/v1/nodes/${encodeURIComponent(id)}`;
  switch (action) {
    case 'get':
      printObject(await client.call('GET', path), io.out);
      return 0;
    case 'delete':
      await client.call('DELETE', path);
      io.out(`deleted node ${id}`);
      return 0;
    case 'expire':
      printObject(await client.call('POST', `${path}/expire`, {}), io.out);
      return 0;
    case 'rename':
      printObject(await client.call('POST', `${path}/rename`, { name: rest[0] }), io.out);
      return 0;
    case 'tag':
      printObject(await client.call('POST', `${path}/tags`, { tags: rest }), io.out);
      return 0;
    case 'approve-routes':
      printObject(await client.call('POST', `${path}/routes`, { routes: rest }), io.out);
      return 0;
  }
}
