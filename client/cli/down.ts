import { parseFlags } from './local/flags.ts';
import { agentClient, SOCKET_FLAGS } from './local/socket.ts';

const USAGE = `usage: trellis down [--socket PATH | --state-dir DIR]
  Disconnects from the mesh and removes the interface, routes and rules the agent created.
  The node keeps its identity: \`trellis up\` brings it back without a new credential.`;

export async function downCommand(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, { values: [...SOCKET_FLAGS] }, USAGE);
  const status = await agentClient(flags).down();
  process.stdout.write(`down${status.self ? `: ${status.self.name} is disconnected` : ''}\n`);
  return 0;
}
