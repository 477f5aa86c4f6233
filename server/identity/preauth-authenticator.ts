import { unauthenticated } from '../errors.ts';
import type { Store } from '../store/store.ts';
import type { Authenticator } from './identity.ts';
import { parseSecret, secretMatches } from './secrets.ts';

/** Pre-auth keys: checked here for a clear answer, used up atomically when the node is written. */
export function preAuthKeyAuthenticator(store: Store, now: () => number): Authenticator<{ type: 'preauth-key'; key: string }> {
  return {
    type: 'preauth-key',
    async authenticate(credential) {
      const parsed = parseSecret('auth', credential.key);
      if (!parsed) throw unauthenticated('preauth_key.malformed', 'the pre-auth key is not of the form trellis-auth-<id>-<secret>');
      const key = await store.preAuthKeys.get(parsed.id);
      if (!key || !secretMatches(parsed.secretPart, key.secretHash)) {
        throw unauthenticated('preauth_key.unknown', 'the pre-auth key is not known');
      }
      if (key.revokedAt !== undefined) throw unauthenticated('preauth_key.revoked', `pre-auth key ${key.id} was revoked`);
      if (key.expiresAt <= now()) {
        throw unauthenticated('preauth_key.expired', `pre-auth key ${key.id} expired at ${new Date(key.expiresAt).toISOString()}`);
      }
      if (!key.reusable && key.usedCount > 0) {
        throw unauthenticated('preauth_key.used', `pre-auth key ${key.id} is single-use and was already used`);
      }
      return {
        userId: key.userId,
        tags: key.tags,
        ephemeral: key.ephemeral,
        consumePreAuthKeyId: key.id,
        method: 'preauth-key',
      };
    },
  };
}
