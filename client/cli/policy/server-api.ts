/**
 * The running server the policy commands read from (the live policy and topology) and upload
 * to, through the admin API client both CLIs share (protocol/admin-client.ts): found as
 * `trellis-server` finds it, from --server, TRELLIS_SERVER or the local default, with the key from
 * --api-key, TRELLIS_API_KEY, or the local server's `<data dir>/admin-api-key`. Every answer is
 * checked against its protocol/ schema.
 */
import type { z } from 'zod';
import { PolicyView, PrefixView, listOf } from '../../../protocol/admin.ts';
import {
  AdminCallError,
  AdminClient,
  adminTarget,
  noKeyMessage,
  type AdminConnectionFlags,
} from '../../../protocol/admin-client.ts';
import { PolicyTopology } from '../../../protocol/policy-topology.ts';
import { readTopology, type NetworkOptions, type PolicyNode } from '../../../policy/index.ts';
import { CliError, type CliIO } from './io.ts';

const VERSION_CONFLICT_HINT =
  "nothing was applied: the server's policy changed since the version this change was reviewed against; diff against the live policy again";

export type ServerFlags = AdminConnectionFlags;

export class PolicyServer {
  private constructor(private readonly client: AdminClient) {}

  get url(): string {
    return this.client.url;
  }

  static async connect(flags: ServerFlags, io: CliIO, env: NodeJS.ProcessEnv): Promise<PolicyServer> {
    const target = adminTarget(flags, env);
    if (!URL.canParse(target.url) || !/^https?:$/.test(new URL(target.url).protocol))
      throw new CliError(`--server "${target.url}": write the server's http:// or https:// URL`, 2);
    let key = target.key;
    if (!key) {
      try {
        key = (await io.readFile(target.keyFile)).trim();
      } catch {
        throw new CliError(noKeyMessage(target.keyFile), 2);
      }
    }
    return new PolicyServer(new AdminClient(target.url, key));
  }

  policy(): Promise<PolicyView> {
    return this.call(PolicyView, 'GET', '/api/v1/policy');
  }

  /** The network as the policy sees it, read as a topology file is. */
  async topology(): Promise<{ nodes: PolicyNode[]; options: NetworkOptions }> {
    const read = readTopology(await this.call(PolicyTopology, 'GET', '/api/v1/policy/topology'));
    if (!read.ok) throw new CliError(`${this.url} answered a topology that is not one: ${read.where}: ${read.message}`);
    return { nodes: read.nodes, options: read.options };
  }

  /** Every advertised prefix and the router the server elected for it (GET /api/v1/routes). */
  async routes(): Promise<PrefixView[]> {
    return (await this.call(listOf(PrefixView), 'GET', '/api/v1/routes')).items;
  }

  /** Uploads the policy, refused by the server unless its policy is version `ifVersion`. */
  setPolicy(text: string, ifVersion: number, fileName: string): Promise<PolicyView> {
    return this.call(PolicyView, 'PUT', '/api/v1/policy', { policy: text, ifVersion, fileName });
  }

  private async call<T>(schema: z.ZodType<T>, method: string, path: string, body?: unknown): Promise<T> {
    let json: unknown;
    try {
      json = await this.client.call(method, path, body);
    } catch (err) {
      if (!(err instanceof AdminCallError)) throw err;
      if (err.status === 0 || err.code === 'server.bad_answer') throw new CliError(err.message);
      // A rejected policy's message lists each problem as FILE:LINE:COL: message (the file uploaded).
      const hint = err.code === 'policy.version_conflict' ? `\n${VERSION_CONFLICT_HINT}` : '';
      throw new CliError(`server refused (${err.status} ${err.code}): ${err.message}${hint}`);
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    throw new CliError(`${this.url} answered ${method} ${path} with something unexpected; is it a Trellis server?`);
  }
}
