import type { LocalApiClient } from '../agent/local-api/client.ts';
import { KubeProxyError } from './errors.ts';

/** Who is on the other end of a connection, as the local agent's map says (never as the client says). */
export interface Caller {
  /** The connection's source: the caller's mesh address. */
  address: string;
  nodeId: string;
  nodeName: string;
  /** The owner's login; absent for a tagged node. */
  user?: string;
  tags: string[];
  /** The login the proxy impersonates: the user's, or a tagged node's name. */
  login: string;
  /** Capability name -> values, granted to the caller towards this node. */
  capMap: Record<string, unknown[]>;
}

const CACHE_MS = 1_000;

/**
 * Identifies callers through the local agent's `whois`. Answers are kept for a second, so a
 * burst of kubectl requests asks once, while a policy change still reaches the next command.
 * Only a node's own mesh address identifies it: an address behind a peer's subnet route (the
 * route's hosts are not that node) and this node's own address are refused.
 */
export class WhoisCallers {
  private readonly cache = new Map<string, { at: number; caller: Promise<Caller> }>();

  constructor(
    private readonly agent: Pick<LocalApiClient, 'whois'>,
    private readonly now: () => number = Date.now,
  ) {}

  identify(address: string): Promise<Caller> {
    const at = this.now();
    const hit = this.cache.get(address);
    if (hit && at - hit.at < CACHE_MS) return hit.caller;
    const caller = this.ask(address);
    this.cache.set(address, { at, caller });
    caller.catch(() => this.cache.delete(address));
    if (this.cache.size > 4096) this.prune(at);
    return caller;
  }

  private async ask(address: string): Promise<Caller> {
    let answer;
    try {
      answer = await this.agent.whois(address);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'agent.not_found')
        throw new KubeProxyError(
          'kube_proxy.unknown_caller',
          `no node in this proxy's network map owns ${address}: connect through the mesh from a node the policy lets see this proxy`,
          403,
        );
      throw new KubeProxyError(
        'kube_proxy.agent_unavailable',
        `the local agent could not say who ${address} is: ${(err as Error).message}`,
        503,
        { cause: err },
      );
    }
    const { node } = answer;
    if (node.self)
      throw new KubeProxyError(
        'kube_proxy.not_a_peer',
        `${address} is this proxy's own node (${node.name}); only mesh peers are served`,
        403,
      );
    if (!node.addresses.some((a) => a.split('/')[0] === address))
      throw new KubeProxyError(
        'kube_proxy.not_a_peer',
        `${address} is behind the subnet route ${node.matched} of node ${node.name}, which does not identify anyone; connect from a mesh node's own address`,
        403,
      );
    return {
      address,
      nodeId: node.id,
      nodeName: node.name,
      tags: node.tags,
      login: node.user ?? node.name,
      capMap: answer.capMap,
      ...(node.user !== undefined && { user: node.user }),
    };
  }

  private prune(at: number): void {
    for (const [k, v] of this.cache) if (at - v.at >= CACHE_MS) this.cache.delete(k);
  }
}
