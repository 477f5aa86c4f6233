import { scopesGrant } from '../admin/scopes.ts';
import { forbidden, unauthenticated } from '../errors.ts';
import { parseSecret, secretMatches } from '../identity/secrets.ts';
import type { MachineProofVerifier } from '../identity/machine-proof.ts';
import type { ApiKeyRecord, ApiScope, NodeRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { isoTime } from '../../protocol/time.ts';

/** Resolves the credentials a request carries into a caller, or refuses it. */
export class CallerAuth {
  constructor(
    private readonly store: Store,
    private readonly proofs: MachineProofVerifier,
    private readonly now: () => number,
  ) {}

  async apiKey(header: string | undefined, scope: ApiScope): Promise<ApiKeyRecord> {
    const token = /^Bearer (\S+)$/.exec(header ?? '')?.[1];
    if (!token)
      throw unauthenticated(
        'api_key.missing',
        'this endpoint needs an API key (Authorization: Bearer trellis-api-...) or a console session (sign in at /console/)',
      );
    const parsed = parseSecret('api', token);
    if (!parsed) throw unauthenticated('api_key.malformed', 'the API key is not of the form trellis-api-<id>-<secret>');
    const key = await this.store.apiKeys.get(parsed.id);
    const now = this.now();
    if (!key || !secretMatches(parsed.secretPart, key.secretHash)) {
      throw unauthenticated('api_key.unknown', 'the API key is not known');
    }
    if (key.revokedAt !== undefined) throw unauthenticated('api_key.revoked', `API key ${key.id} was revoked`);
    if (key.expiresAt !== undefined && key.expiresAt <= now) {
      throw unauthenticated('api_key.expired', `API key ${key.id} expired at ${isoTime(key.expiresAt)}`);
    }
    if (!scopesGrant(key.scopes, scope)) {
      throw forbidden(
        'api_key.scope',
        `API key ${key.id} lacks the "${scope}" scope (it has: ${key.scopes.join(', ')})`,
      );
    }
    if (!key.lastUsedAt || now - key.lastUsedAt > 60_000) await this.store.apiKeys.touch(key.id, now);
    return key;
  }

  /** Verifies the proof; returns the machine key and, when registered, its node. */
  async machine(
    header: string | undefined,
    method: string,
    pathWithQuery: string,
    body: Uint8Array,
  ): Promise<{ machineKey: string; node?: NodeRecord }> {
    const { machineKey, registered } = await this.proofs.verifyShared(
      header,
      method,
      pathWithQuery,
      body,
      this.now(),
      (key) => this.store.nodes.getByMachineKey(key),
    );
    return { machineKey, node: registered };
  }

  /** Like machine(), but the node must exist and be current. */
  async registeredMachine(
    header: string | undefined,
    method: string,
    pathWithQuery: string,
    body: Uint8Array,
  ): Promise<{ machineKey: string; node: NodeRecord }> {
    const { machineKey, node } = await this.machine(header, method, pathWithQuery, body);
    if (!node) throw unauthenticated('node.unknown', 'no node is registered with this machine key; run trellis up');
    if (node.expiresAt !== undefined && node.expiresAt <= this.now()) {
      throw unauthenticated('node.expired', `node ${node.name} expired; sign in again to renew it`);
    }
    return { machineKey, node };
  }
}
