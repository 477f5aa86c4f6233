import type { NodeView } from '../../../protocol/admin.ts';
import { CONNECTION_OPTIONS, adminClient } from '../admin-client.ts';
import { UsageError, parseFlags } from '../args.ts';
import type { CliIO } from '../io.ts';
import { printList, printObject } from '../output.ts';

export const NODES_USAGE = `nodes list [--json]
  nodes get ID
  nodes delete ID
  nodes expire ID
  nodes rename ID NAME
  nodes tag ID [TAG...]            (no tags: clear them)
  nodes approve-routes ID [CIDR...]`;

export async function nodesCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(argv, CONNECTION_OPTIONS);
  const client = adminClient(values, io.env);
  const [action, id, ...rest] = positionals;
  if (action === 'list') {
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
  if (!id) throw new UsageError(`nodes ${action ?? ''} needs a node ID`);
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
      if (rest.length !== 1) throw new UsageError('nodes rename needs ID and NAME');
      printObject(await client.call('POST', `${path}/rename`, { name: rest[0] }), io.out);
      return 0;
    case 'tag':
      printObject(await client.call('POST', `${path}/tags`, { tags: rest }), io.out);
      return 0;
    case 'approve-routes':
      printObject(await client.call('POST', `${path}/routes`, { routes: rest }), io.out);
      return 0;
    default:
      throw new UsageError(`unknown nodes action "${action ?? ''}"`);
  }
}
