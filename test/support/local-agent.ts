import { join } from 'node:path';
import pino from 'pino';
import { Agent } from '../../client/agent/agent.ts';
import { Engine } from '../../client/agent/engine.ts';
import { LocalApi } from '../../client/agent/local-api/server.ts';

export interface LocalAgent {
  agent: Agent;
  api: LocalApi;
  socketPath: string;
}

/**
 * A real agent whose state lives in `dir`, serving its local API on `dir/agent.sock`, with no
 * WireGuard device (opening one fails): for what the local API and sign-in do before a tunnel.
 */
export async function startLocalAgent(dir: string): Promise<LocalAgent> {
  const common = { iface: 'trtest0', meshRanges: ['100.64.0.0/10'] };
  const engine = new Engine({ ...common, openDevice: () => Promise.reject(new Error('no device in this test')) });
  const agent = new Agent({ ...common, stateDir: dir, listenPort: 41641, engine, logger: pino({ level: 'silent' }) });
  await agent.start();
  const socketPath = join(dir, 'agent.sock');
  const api = new LocalApi(agent, { socketPath });
  await api.listen();
  return { agent, api, socketPath };
}
