import { join } from 'node:path';
import { LocalApiClient } from '../../agent/local-api/client.ts';
import type { Parsed } from './flags.ts';

/**
 * Where the agent keeps its state and listens, for the agent and the commands that talk to it:
 * `--socket`, else `TRELLIS_SOCKET`, else `agent.sock` in `--state-dir` / `TRELLIS_STATE_DIR` /
 * /var/lib/trellis.
 */
export const DEFAULT_STATE_DIR = '/var/lib/trellis';
export const SOCKET_FLAGS = ['socket', 'state-dir'] as const;

export function stateDirOf(flags: Parsed, env: NodeJS.ProcessEnv = process.env): string {
  return flags.values.get('state-dir') ?? env.TRELLIS_STATE_DIR ?? DEFAULT_STATE_DIR;
}

export function socketPathOf(flags: Parsed, env: NodeJS.ProcessEnv = process.env): string {
  return flags.values.get('socket') ?? env.TRELLIS_SOCKET ?? join(stateDirOf(flags, env), 'agent.sock');
}

export function agentClient(flags: Parsed): LocalApiClient {
  return new LocalApiClient(socketPathOf(flags));
}
