import type { AnswerCode } from '../error-codes.ts';
import { TrellisError } from '../errors.ts';
import type { Store } from '../store/store.ts';
import type { Authenticator } from './identity.ts';
import { parseSecret, secretMatches } from './secrets.ts';
import { isoTime } from '../../protocol/time.ts';

/** Every refusal points at the credential in the register body. */
const refused = (code: AnswerCode, message: string) =>
  new TrellisError('unauthenticated', code, message, { where: 'body.credential.key' });

/** Pre-auth keys: checked here for a clear answer, used up atomically when the node is written. */
export function preAuthKeyAuthenticator(
  store: Store,
  now: () => number,
): Authenticator<{ type: 'preauth-key'; key: string }> {
  return {
    type: 'preauth-key',
    async authenticate(credential) {
      const parsed = parseSecret('auth', credential.key);
      if (!parsed)
        throw refused('preauth_key.malformed', 'the pre-auth key is not of the form trellis-auth-<id>-<secret>');
      const key = await store.preAuthKeys.get(parsed.id);
      if (!key || !secretMatches(parsed.secretPart, key.secretHash)) {
        throw refused('preauth_key.unknown', 'the pre-auth key is not known');
      }
      if (key.revokedAt !== undefined) throw refused('preauth_key.revoked', `pre-auth key ${key.id} was revoked`);
      if (key.expiresAt <= now()) {
        throw refused('preauth_key.expired', `pre-auth key ${key.id} expired at ${isoTime(key.expiresAt)}`);
      }
      if (!key.reusable && key.usedCount > 0) {
        throw refused('preauth_key.used', `pre-auth key ${key.id} is single-use and was already used`);
      }
      return {
        userId: key.userId,
        tags: key.tags,
        ephemeral: key.ephemeral,
        consumePreAuthKeyId: key.id,
        method: 'preauth-key',
        subject: `pre-auth key ${key.id}`,
        proof: { method: 'preauth-key', keyId: key.id },
      };
    },
  };
}
