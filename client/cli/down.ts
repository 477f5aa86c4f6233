import { command, parseCommand } from '../../cli-flags/index.ts';
import { agentClient, SOCKET_FLAGS } from './local/socket.ts';

export const DOWN = command({
  name: 'trellis down',
  summary:
    'Disconnects from the mesh and removes the interface, routes and rules the agent created.\n' +
    'The node keeps its identity: `trellis up` brings it back without a new credential.',
  flags: SOCKET_FLAGS,
});

export async function downCommand(argv: string[]): Promise<number> {
  const { flags } = parseCommand(argv, DOWN);
  const status = await agentClient(flags).down();
  process.stdout.write(`down${status.self ? `: ${status.self.name} is disconnected` : ''}\n`);
  return 0;
}
