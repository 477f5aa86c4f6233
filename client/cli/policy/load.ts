/** Reading policy and topology files, with every problem reported as FILE:LINE:COL. */
import {
  formatDiagnostic,
  nodeByRef,
  parsePolicy,
  type Policy,
  type NetworkOptions,
  type PolicyNode,
  readTopology,
} from '../../../policy/index.ts';
import { CliError, type CliIO } from './io.ts';

export async function readText(io: CliIO, path: string): Promise<string> {
  try {
    return await io.readFile(path);
  } catch (e) {
    throw new CliError(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The checked policy, or undefined after printing every diagnostic to stderr. */
export async function loadPolicy(io: CliIO, path: string): Promise<Policy | undefined> {
  const result = parsePolicy(await readText(io, path), path);
  for (const d of result.diagnostics) io.stderr(formatDiagnostic(d));
  return result.policy;
}

/** A topology file (docs/policy-cli.md): its nodes, and the mesh ranges to compile them with. */
export async function loadTopology(io: CliIO, path: string): Promise<{ nodes: PolicyNode[]; options: NetworkOptions }> {
  let json: unknown;
  try {
    json = JSON.parse(await readText(io, path));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${path}:1:1: not JSON: ${(e as Error).message}`);
  }
  const read = readTopology(json);
  if (!read.ok) throw new CliError(`${path}: not a topology: ${read.where}: ${read.message}`);
  return { nodes: read.nodes, options: read.options };
}

/** A node by id or name. */
export function findNode(nodes: PolicyNode[], name: string): PolicyNode {
  const n = nodeByRef(nodes, name);
  if (!n) throw new CliError(`no node "${name}" in the topology`);
  return n;
}
