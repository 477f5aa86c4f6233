import type { Authenticator } from '../identity.ts';
import type { LoginService } from './login-service.ts';

/**
 * `{type: "oidc", loginId}`: a sign-in that this same machine started and the person completed.
 * The node belongs to the person; its key expires after `keyExpiryMs` (0: never) and is renewed
 * by signing in again.
 */
export function oidcAuthenticator(
  logins: LoginService,
  keyExpiryMs: number,
  now: () => number,
): Authenticator<{ type: 'oidc'; loginId: string }> {
  return {
    type: 'oidc',
    async authenticate(credential, context) {
      const s = await logins.consume(context.machineKey, credential.loginId);
      return {
        userId: s.userId!,
        tags: [],
        ephemeral: false,
        expiresAt: keyExpiryMs > 0 ? now() + keyExpiryMs : undefined,
        method: 'oidc',
        subject: s.email,
        proof: {
          method: 'oidc',
          provider: s.provider,
          issuer: s.proof!.issuer,
          subject: s.proof!.subject,
          email: s.email!,
        },
      };
    },
  };
}
