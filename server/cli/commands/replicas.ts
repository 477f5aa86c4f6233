import type { ReplicaView } from '../../../protocol/admin.ts';
import { command, group, parseCommand, selectCommand } from '../../../cli-flags/index.ts';
import { CONNECTION_FLAGS, JSON_FLAG, adminClient } from '../admin-client.ts';
import type { CliIO } from '../io.ts';
import { printList } from '../output.ts';

export const REPLICAS = group({
  name: 'trellis-server replicas',
  summary: 'The server replicas on the shared database: heartbeat, leadership, lag, nodes, database state.',
  commands: {
    list: command({
      name: 'trellis-server replicas list',
      summary: 'every replica, as the one answering sees them',
      flags: { ...CONNECTION_FLAGS, ...JSON_FLAG },
    }),
  },
});

export async function replicasCommand(argv: string[], io: CliIO): Promise<number> {
  const { rest } = selectCommand(argv, REPLICAS);
  const { flags: values } = parseCommand(rest, REPLICAS.commands.list);
  const { items } = await adminClient(values, io.env).call<{ items: ReplicaView[] }>('GET', '/api/v1/replicas');
  printList(
    items,
    values.json,
    [
      ['ID', (x) => `${x.id}${x.self ? ' *' : ''}`],
      ['ADDRESS', (x) => x.address],
      ['STARTED', (x) => x.startedAt],
      ['HEARTBEAT', (x) => `${x.lastHeartbeat}${x.alive ? '' : ' (dead)'}`],
      ['LEADER', (x) => (x.leader === null ? '?' : x.leader ? 'yes' : 'no')],
      ['APPLIED', (x) => `${x.appliedSeq}/${x.headSeq}`],
      ['LAG', (x) => String(x.lag)],
      ['NODES', (x) => String(x.connected)],
      ['DATABASE', (x) => x.database],
    ],
    io.out,
  );
  return 0;
}
