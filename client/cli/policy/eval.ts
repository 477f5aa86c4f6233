/**
 * `trellis policy eval --src NODE --dst NODE:PORT|ADDRESS:PORT [--proto P] [--json] [--policy F] [--topology F]`:
 * accept or deny, and the rules behind it, on files or on the live network; `--json` prints the
 * server's explain answer (protocol/policy-admin.ts `Explanation`), for scripts and CI. An address that is no
 * node's is judged as the server's explain judges it (policy/route-evaluate.ts): by the filter of
 * the router of the longest approved route covering it, or of an exit node the source may use.
 */
import { explainTarget, explanation, PolicyNetwork, PolicyQueryError, type PolicyNode } from '../../../policy/index.ts';
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
    dst: {
      type: 'string',
      value: 'NODE:PORT',
      required: true,
      help: 'the node, or an IP address behind a subnet router or exit node ([v6]:PORT too), and the port',
    },
    proto: { type: 'string', value: 'P', help: 'the IP protocol (default tcp)' },
    json: {
      type: 'boolean',
      help: "the verdict, rules, router and reasons as JSON (the server's explain answer), for scripts",
    },
    ...NETWORK_FLAGS,
  },
  notes: `Without --policy, the server's live policy; without --topology, its live network (an API key
with the read scope). An address is carried by the router the server elected for its prefix
(on --topology, the first approved router by name).
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
  const { host, port } = hostAndPort(flags.dst);
  const inputs = new PolicyInputs(flags, io, env);
  const policy = await inputs.policy(flags.policy);
  if (!policy) return 2;
  const { nodes, options } = await inputs.network();
  const src = findNode(nodes, flags.src);
  const net = new PolicyNetwork(policy, options);
  net.loadNodes(nodes);
  try {
    const dst = explainTarget(nodes, host) ?? { node: findNode(nodes, host) };
    const primaries = 'address' in dst && flags.topology === undefined ? await livePrimaries(inputs, nodes) : undefined;
    const answer = explanation(net, { src, dst, port, proto: flags.proto, primaries });
    io.stdout(flags.json ? `${JSON.stringify(answer, null, 2)}\n` : answer.text);
    return answer.verdict === 'accept' ? 0 : 1;
  } catch (e) {
    // A node or protocol the question names but the network does not have; anything else is a bug.
    if (e instanceof PolicyQueryError) throw new CliError(e.message, 2);
    throw e;
  }
}

/** `NODE:PORT`, `ADDRESS:PORT` or `[IPV6]:PORT`: the port after the last colon. */
function hostAndPort(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  const portText = text.slice(colon + 1);
  const port = Number(portText);
  if (colon <= 0 || !/^[0-9]{1,5}$/.test(portText) || port > 65535)
    throw new CliError(`--dst "${text}": write NODE:PORT or ADDRESS:PORT`, 2);
  const host = text.slice(0, colon);
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port };
}

/** Prefix -> the node id (here its name) of the primary router the server elected. */
async function livePrimaries(inputs: PolicyInputs, nodes: PolicyNode[]): Promise<Map<string, string>> {
  const byName = new Map(nodes.map((n) => [n.name, n.id]));
  const primaries = new Map<string, string>();
  for (const p of await (await inputs.server()).routes()) {
    const id = p.primary && byName.get(p.primary.name);
    if (id !== undefined) primaries.set(p.prefix, id);
  }
  return primaries;
}
