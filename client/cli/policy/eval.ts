/**
 * `trellis policy eval --src NODE --dst NODE:PORT [--proto P] [--policy F] [--topology F]`:
 * accept or deny, and the rules behind it, on files or on the live network.
 */
import { evaluate, explain, PolicyNetwork, PolicyQueryError } from '../../../policy/index.ts';
import { command, parseCommand } from '../../../cli-flags/index.ts';
import { CliError, type CliIO } from './io.ts';
import { PolicyInputs } from './inputs.ts';
import { findNode } from './load.ts';
import { NETWORK_FLAGS } from './policy-flags.ts';

export const EVAL = command({
  name: 'trellis policy eval',
  summary: 'Says whether a connection is accepted or denied, and which rules decide it.',
  flags: {
    src: { type: 'string', value: 'NODE', required: true, help: 'the connecting node (name or id)' },
    dst: { type: 'string', value: 'NODE:PORT', required: true, help: 'the node and port connected to' },
    proto: { type: 'string', value: 'P', help: 'the IP protocol (default tcp)' },
    ...NETWORK_FLAGS,
  },
  notes: `Without --policy, the server's live policy; without --topology, its live network (an API key
with the read scope).
Exit status: 0 accepted, 1 denied, 2 no verdict (a usage mistake, an unknown node, a policy or
topology that does not load, a server that cannot be reached or refuses).`,
});

/** Exit status 0 on accept, 1 on deny, so that scripts can branch on the verdict; 2 for anything else. */
export async function evalCommand(argv: string[], io: CliIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return await evalOnce(argv, io, env);
  } catch (e) {
    // 1 means "denied" here; every failure to reach a verdict is 2.
    if (e instanceof CliError && e.exitCode === 1) throw new CliError(e.message, 2);
    throw e;
  }
}

async function evalOnce(argv: string[], io: CliIO, env: NodeJS.ProcessEnv): Promise<number> {
  const { flags } = parseCommand(argv, EVAL);
  const dstText = flags.dst;
  const colon = dstText.lastIndexOf(':');
  const port = Number(dstText.slice(colon + 1));
  if (colon < 0 || !/^[0-9]{1,5}$/.test(dstText.slice(colon + 1)) || port > 65535) {
    throw new CliError(`--dst "${dstText}": write NODE:PORT`, 2);
  }
  const inputs = new PolicyInputs(flags, io, env);
  const policy = await inputs.policy(flags.policy);
  if (!policy) return 2;
  const { nodes, options } = await inputs.network();
  const src = findNode(nodes, flags.src);
  const dst = findNode(nodes, dstText.slice(0, colon));
  const net = new PolicyNetwork(policy, options);
  net.loadNodes(nodes);
  const query = { src: src.id, dst: dst.id, port, ...(flags.proto !== undefined ? { proto: flags.proto } : {}) };
  try {
    io.stdout(explain(net, query));
    return evaluate(net, query).verdict === 'accept' ? 0 : 1;
  } catch (e) {
    // A node or protocol the question names but the network does not have; anything else is a bug.
    if (e instanceof PolicyQueryError) throw new CliError(e.message, 2);
    throw e;
  }
}
