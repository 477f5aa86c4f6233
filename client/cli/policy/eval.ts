/** `trellis policy eval --policy F --topology F --src NODE --dst NODE:PORT [--proto P]`. */
import { explain, PolicyNetwork } from '../../../policy/index.ts';
import { parseArgs, required } from './args.ts';
import { CliError, type CliIO } from './io.ts';
import { findNode, loadPolicy, loadTopology } from './load.ts';

/** Prints the verdict and the rules behind it; exits 0 for accept and deny alike. */
export async function evalCommand(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { values: ['policy', 'topology', 'src', 'dst', 'proto'], switches: [] });
  const policy = await loadPolicy(io, required(args, 'policy'));
  const nodes = await loadTopology(io, required(args, 'topology'));
  if (!policy) return 1;
  const dstText = required(args, 'dst');
  const colon = dstText.lastIndexOf(':');
  const port = Number(dstText.slice(colon + 1));
  if (colon < 0 || !/^[0-9]{1,5}$/.test(dstText.slice(colon + 1)) || port > 65535) {
    throw new CliError(`--dst "${dstText}": write NODE:PORT`, 2);
  }
  const src = findNode(nodes, required(args, 'src'));
  const dst = findNode(nodes, dstText.slice(0, colon));
  const net = new PolicyNetwork(policy);
  net.loadNodes(nodes);
  const proto = args.flags.get('proto');
  try {
    io.stdout(explain(net, { src: src.id, dst: dst.id, port, ...(typeof proto === 'string' ? { proto } : {}) }));
  } catch (e) {
    if (e instanceof TypeError) throw new CliError(e.message, 2);
    throw e;
  }
  return 0;
}
