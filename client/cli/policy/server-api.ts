/**
 * The running server the policy commands read from (the live policy and topology) and upload
 * to. It is found as `trellis-server` finds it: the URL from --server, TRELLIS_SERVER or the
 * local default; the API key from --api-key, TRELLIS_API_KEY, or the local server's
 * `<data dir>/admin-api-key`. Every answer is checked against its protocol/ schema.
 */
import { join } from 'node:path';
import type { z } from 'zod';
import { PolicyView, PrefixView, listOf } from '../../../protocol/admin.ts';
import { ErrorBody } from '../../../protocol/errors.ts';
import { PolicyTopology } from '../../../protocol/policy-topology.ts';
import { readTopology, type NetworkOptions, type PolicyNode } from '../../../policy/index.ts';
import { CliError, type CliIO } from './io.ts';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

const VERSION_CONFLICT_HINT =
  "nothing was applied: the server's policy changed since the version this change was reviewed against; diff against the live policy again";

export interface ServerFlags {
  server?: string | undefined;
  'api-key'?: string | undefined;
  'data-dir'?: string | undefined;
}

export class PolicyServer {
  private constructor(
    readonly url: string,
    private readonly apiKey: string,
  ) {}

  static async connect(flags: ServerFlags, io: CliIO, env: NodeJS.ProcessEnv): Promise<PolicyServer> {
    const url = flags.server ?? env.TRELLIS_SERVER ?? DEFAULT_SERVER;
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
      throw new CliError(`--server "${url}": write the server's http:// or https:// URL`, 2);
    let key = flags['api-key'] ?? env.TRELLIS_API_KEY;
    if (!key) {
      const file = join(flags['data-dir'] ?? env.TRELLIS_DATA_DIR ?? './data', 'admin-api-key');
      try {
        key = (await io.readFile(file)).trim();
      } catch {
        throw new CliError(`no API key: pass --api-key, set TRELLIS_API_KEY, or run where ${file} exists`, 2);
      }
    }
    return new PolicyServer(url, key);
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
    let res: Response;
    try {
      res = await fetch(new URL(path, this.url), {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new CliError(`cannot reach ${this.url}: ${String((err as Error).cause ?? (err as Error).message)}`);
    }
    const json: unknown = await res.json().catch(() => undefined);
    if (res.ok) {
      const parsed = schema.safeParse(json);
      if (parsed.success) return parsed.data;
      throw new CliError(`${this.url} answered ${method} ${path} with something unexpected; is it a Trellis server?`);
    }
    const error = ErrorBody.safeParse(json);
    if (!error.success)
      throw new CliError(`${this.url} answered ${res.status} ${res.statusText}; is it a Trellis server?`);
    // A rejected policy's message lists each problem as FILE:LINE:COL: message (the file uploaded).
    const { code, message } = error.data;
    const hint = code === 'policy.version_conflict' ? `\n${VERSION_CONFLICT_HINT}` : '';
    throw new CliError(`server refused (${res.status} ${code}): ${message}${hint}`);
  }
}
