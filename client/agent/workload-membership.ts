import type { Logger } from 'pino';
import type { Credential } from '../../protocol/join.ts';
import type { SelfNode } from '../../protocol/node.ts';
import { Backoff } from '../control/backoff.ts';
import { openTokenSource } from '../identity/open-source.ts';
import type { TokenSource } from '../identity/token-source.ts';
import type { WorkloadSpec } from '../identity/workload-spec.ts';
import { AgentError } from './errors.ts';
import { serversOf } from './membership.ts';
import type { StatusResponse, UpRequest } from './local-api/messages.ts';
import type { NodeState } from './state-store.ts';
import { type RenewalStatus, WorkloadRenewal } from './workload-renewal.ts';

/**
 * A workload node's membership: it joins with a token from its source (at `up`, or on start for
 * `trellis agent --token-file ...`) and stays registered as the source hands out new tokens.
 * The agent keeps the node, the stream and the join itself; this asks it through `deps`.
 */
/** What a workload joining on start asks for besides its token: its name, and routing as a gateway. */
export type JoinOptions = Pick<
  UpRequest,
  'hostname' | 'advertiseRoutes' | 'snatSubnetRoutes' | 'gatewayFor' | 'routeProbes' | 'routePriority' | 'serve'
>;

interface MembershipDeps {
  /** The node as last saved. */
  node(): NodeState | undefined;
  /** Whether the map stream is open and the node a member, so a new token can register in place. */
  member(): boolean;
  up(req: UpRequest): Promise<StatusResponse>;
  /** A full join (with a new stream), for a node that is not a member any more. */
  join(serverUrls: string[], credential: Credential, spec: WorkloadSpec): Promise<void>;
  /** Registers `node` again with the same machine key (same node and addresses), and saves it. */
  reregister(node: NodeState, credential: Credential): Promise<SelfNode>;
  /** Why joining on start keeps failing, for status. */
  noteError(message: string): void;
  serverUrls: readonly string[] | undefined;
  /** The wall clock (ms), for token and key expiry. */
  now: () => number;
  log: Logger;
}

/** A token read for `up`, and the credential it makes. */
interface WorkloadToken {
  spec: WorkloadSpec;
  source: TokenSource;
  token: string;
  credential: Credential;
}

export class WorkloadMembership {
  private renewal: WorkloadRenewal | undefined;
  private joining = false;

  constructor(private readonly deps: MembershipDeps) {}

  /** Reads the token `up` joins with; a source that cannot give one is the request's fault. */
  async read(spec: WorkloadSpec): Promise<WorkloadToken> {
    const source = openTokenSource(spec.source);
    const token = await source.read().catch((err: unknown) => {
      throw new AgentError('agent.bad_request', (err as Error).message, { cause: err });
    });
    return { spec, source, token, credential: workloadCredential(spec, token) };
  }

  /** Renews from now on a node that just joined with `joined`. */
  renewFrom(joined: WorkloadToken, self: SelfNode): void {
    this.start(joined.spec, joined.source, { token: joined.token, self });
  }

  /** Renews from a saved spec (a restart, a reconnect), registering with the current token now. */
  resume(spec: WorkloadSpec): void {
    this.start(spec, openTokenSource(spec.source));
  }

  get renewing(): boolean {
    return this.renewal !== undefined;
  }

  status(): RenewalStatus | undefined {
    return this.renewal?.status();
  }

  stop(): void {
    this.renewal?.stop();
    this.renewal = undefined;
  }

  /** The agent process is stopping: no more join attempts, no more renewals. */
  close(): void {
    this.joining = false;
    this.stop();
  }

  /**
   * `trellis agent --token-file ...`: a sidecar or DaemonSet joins on start without a separate
   * `up`. A node that already joined this way just renews (start() did that); otherwise it joins,
   * retrying with backoff while the server is unreachable or the token not there yet (a projected
   * volume or spiffe-helper may write it after the agent starts). Resolves once joined or stopped.
   */
  async joinOnStart(spec: WorkloadSpec, options: JoinOptions = {}): Promise<void> {
    const node = this.deps.node();
    if (node?.self && node.wantRunning && JSON.stringify(node.workload) === JSON.stringify(spec)) return;
    const backoff = new Backoff(1_000, 30_000);
    const { serverUrls, log } = this.deps;
    this.joining = true;
    try {
      while (this.joining) {
        try {
          await this.deps.up({ ...options, workload: spec, ...(serverUrls && { serverUrls: [...serverUrls] }) });
          log.info({ node: this.deps.node()?.self?.name }, 'joined with the workload token');
          return;
        } catch (err) {
          const wait = backoff.next();
          const message = `joining with the workload token: ${(err as Error).message}`;
          this.deps.noteError(message);
          log.error({ code: (err as { code?: string }).code, retryInMs: wait }, `${message}; trying again`);
          await new Promise((r) => setTimeout(r, wait).unref());
        }
      }
    } finally {
      this.joining = false;
    }
  }

  private start(spec: WorkloadSpec, source: TokenSource, registered?: { token: string; self: SelfNode }): void {
    this.stop();
    const renewal = new WorkloadRenewal(
      { source, logger: this.deps.log, register: (token) => this.renew(spec, token), now: this.deps.now },
      registered,
    );
    this.renewal = renewal;
    renewal.start();
    // Not registered yet in this process (a restart): register with the current token now.
    if (!registered) void renewal.check();
  }

  /**
   * Registers a running workload node again with a fresh token: same machine key, so the same
   * node and addresses, and the map stream stays open. A node that lost its membership (its
   * token expired before a new one came, or the agent restarted) joins again in full.
   */
  private async renew(spec: WorkloadSpec, token: string): Promise<SelfNode> {
    const credential = workloadCredential(spec, token);
    const node = this.deps.node();
    if (node && !node.wantRunning)
      throw new AgentError('agent.not_logged_in', 'the node is down (trellis down); not renewing');
    if (!node?.self || !this.deps.member()) {
      await this.deps.join(node ? serversOf(node) : [...this.deps.serverUrls!], credential, spec);
      return this.deps.node()!.self!;
    }
    return this.deps.reregister(node, credential);
  }
}

/** The wire credential a workload presents: its spec says which type, the source gives the token. */
function workloadCredential(spec: WorkloadSpec, token: string): Credential {
  return spec.credential === 'kubernetes'
    ? { type: 'kubernetes', token, ...(spec.cluster && { cluster: spec.cluster }) }
    : { type: 'spiffe-jwt', token };
}
