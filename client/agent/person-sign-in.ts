import { hostname as osHostname } from 'node:os';
import { ControlClient } from '../control/control-client.ts';
import { signInWithOidc } from '../control/oidc-login.ts';
import { AgentError } from './errors.ts';
import { requestedServers } from './membership.ts';
import type { LoginRequest, LoginStarted, LoginWaitResponse, StatusResponse, UpRequest } from './local-api/messages.ts';
import { SignIns } from './sign-in.ts';
import type { NodeState } from './state-store.ts';

/**
 * A person's sign-in (OIDC) for the local API's login calls: it runs in the agent, which holds
 * the machine key the server ties the sign-in to, and once complete the node joins through `up`.
 */
interface PersonSignInDeps {
  /** The server to sign in at; another server than before starts afresh, as for `up`. */
  useServer(requested: string[] | undefined): Promise<string[]>;
  node(): NodeState | undefined;
  machineKey(): string;
  up(req: UpRequest): Promise<StatusResponse>;
}

export class PersonSignIn {
  private readonly signIns = new SignIns();

  constructor(private readonly deps: PersonSignInDeps) {}

  /**
   * Starts signing a person in through the server's identity provider and answers with the
   * prompt; the sign-in goes on here, and once complete the node joins (or, when it was a
   * member, renews: same node, same addresses). The CLI follows with `wait`.
   */
  async start(req: LoginRequest): Promise<LoginStarted> {
    const serverUrls = await this.deps.useServer(requestedServers(req));
    // Read after useServer: a new server means a new node and new keys.
    const hostname = req.hostname ?? this.deps.node()?.hostname ?? osHostname();
    const control = new ControlClient(serverUrls, this.deps.machineKey());
    const { provider, device, ...upFields } = req;
    try {
      return await this.signIns.start(async (present, signal) => {
        const credential = await signInWithOidc({
          control,
          hostname,
          present,
          signal,
          ...(provider && { provider }),
          ...(device && { device }),
        });
        return this.deps.up({ ...upFields, serverUrls, hostname, credential });
      });
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError(
        'agent.join_failed',
        `signing in at ${serverUrls.join(', ')} failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  async wait(id: string, waitMs: number): Promise<LoginWaitResponse> {
    try {
      return await this.signIns.wait(id, waitMs);
    } catch (err) {
      if (err instanceof AgentError) throw err;
      const code = (err as { code?: string }).code;
      throw new AgentError(
        'agent.join_failed',
        `the sign-in failed: ${(err as Error).message}${code ? ` [${code}]` : ''}`,
        { cause: err },
      );
    }
  }

  cancel(id?: string): boolean {
    return this.signIns.cancel(id);
  }
}
