/**
 * What eval, diff and compile evaluate: a policy and a network, each from a file when one is
 * named, else from the live server (connected to once, when first needed).
 */
import type { PolicyView } from '../../../protocol/admin.ts';
import {
  parsePolicy,
  formatDiagnostic,
  type NetworkOptions,
  type Policy,
  type PolicyNode,
} from '../../../policy/index.ts';
import type { CliIO } from './io.ts';
import { loadPolicy, loadTopology } from './load.ts';
import { PolicyServer, type ServerFlags } from './server-api.ts';

interface Network {
  nodes: PolicyNode[];
  options: NetworkOptions;
}

export class PolicyInputs {
  private connection?: Promise<PolicyServer>;

  constructor(
    private readonly flags: ServerFlags & { topology?: string | undefined },
    private readonly io: CliIO,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  server(): Promise<PolicyServer> {
    return (this.connection ??= PolicyServer.connect(this.flags, this.io, this.env));
  }

  network(): Promise<Network> {
    const file = this.flags.topology;
    return file === undefined ? this.server().then((s) => s.topology()) : loadTopology(this.io, file);
  }

  /** The policy in FILE, or the server's live one; undefined after printing its diagnostics. */
  async policy(file: string | undefined): Promise<Policy | undefined> {
    return file === undefined ? (await this.livePolicy())?.policy : loadPolicy(this.io, file);
  }

  /** The server's live policy, checked here as a file is; undefined after printing its diagnostics. */
  async livePolicy(): Promise<{ policy: Policy; view: PolicyView } | undefined> {
    const server = await this.server();
    const view = await server.policy();
    const parsed = parsePolicy(view.text, `${server.url} policy version ${view.version}`);
    for (const d of parsed.diagnostics) this.io.stderr(formatDiagnostic(d));
    return parsed.policy && { policy: parsed.policy, view };
  }
}
