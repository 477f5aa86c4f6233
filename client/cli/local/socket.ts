import { join } from 'node:path';
import { LocalApiClient } from '../../agent/local-api/client.ts';
import { flags } from '../../../cli-flags/index.ts';

/**
 * Where the agent keeps its state and listens, for the agent and the commands that talk to it:
 * `--socket`, else `TRELLIS_SOCKET`, else `agent.sock` in `--state-dir` / `TRELLIS_STATE_DIR` /
 * /var/lib/trellis.
 */
const DEFAULT_STATE_DIR = '/var/lib/trellis';
export const SOCKET_FLAGS = flags({
  socket: {
    type: 'string',
    value: 'PATH',
    help: "the agent's local API socket (or TRELLIS_SOCKET; default DIR/agent.sock)",
  },
  'state-dir': {
    type: 'string',
    value: 'DIR',
    help: `the agent's state directory (or TRELLIS_STATE_DIR; default ${DEFAULT_STATE_DIR})`,
  },
});

export interface SocketFlags {
  socket?: string | undefined;
  'state-dir'?: string | undefined;
}

export function stateDirOf(given: SocketFlags, env: NodeJS.ProcessEnv = process.env): string {
  return given['state-dir'] ?? env.TRELLIS_STATE_DIR ?? DEFAULT_STATE_DIR;
}

export function socketPathOf(given: SocketFlags, env: NodeJS.ProcessEnv = process.env): string {
  return given.socket ?? env.TRELLIS_SOCKET ?? join(stateDirOf(given, env), 'agent.sock');
}

export function agentClient(given: SocketFlags): LocalApiClient {
  return new LocalApiClient(socketPathOf(given));
}
