import type { Credential } from '../../protocol/join.ts';
import type { NodeIdentity } from '../store/records.ts';

/**
 * Who a credential proves the caller to be. Authenticators (pre-auth key now; OIDC, SPIFFE and
 * Kubernetes later) each turn one credential type into this, and registration does the rest.
 */
export interface ProvenIdentity {
  /** Owning user, for user nodes (and who created a tagged node). */
  userId?: string;
  /** Tags the credential itself grants (pre-auth key tags, workload tags from the policy). */
  tags: string[];
  ephemeral: boolean;
  /** When the node's key must be renewed; absent for never. */
  expiresAt?: number;
  /** A pre-auth key to use up in the same transaction as the node is written. */
  consumePreAuthKeyId?: string;
  /** How it was proven, for logs and audit. */
  method: string;
  /** Who was proven (SPIFFE ID, cluster/namespace/account, email), for audit. */
  subject?: string;
  /** What was proven, recorded on the node. */
  proof?: NodeIdentity;
}

/** Where the credential came from: the proven machine key and the source address. */
interface AuthContext {
  machineKey: string;
  sourceIp?: string;
}

export interface Authenticator<C extends Credential = Credential> {
  readonly type: C['type'];
  authenticate(credential: C, context: AuthContext): Promise<ProvenIdentity>;
}
