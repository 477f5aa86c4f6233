import { tagsForWorkload, type Policy } from '../../../policy/index.ts';
import { forbidden } from '../../errors.ts';
import type { Authenticator } from '../identity.ts';
import { checkAudience, checkTimes } from '../jwt/claims.ts';
import { decodeCompactJws } from '../jwt/compact.ts';
import type { KeySource } from '../jwt/key-source.ts';
import { quote, refused } from '../jwt/refusal.ts';
import { checkAlg, verifySignature } from '../jwt/verify.ts';
import { parseSpiffeId } from './spiffe-id.ts';

interface SpiffeAuthenticatorOptions {
  /** The audience this server identifies with; every JWT-SVID must name it in `aud`. */
  audience: string;
  /** Each configured trust domain's bundle. */
  bundles: ReadonlyMap<string, KeySource>;
  policy: () => Policy;
  now: () => number;
  leewaySeconds: number;
  maxTokenBytes: number;
}

const ALLOWED_HEADER = new Set(['alg', 'kid', 'typ']);

/**
 * JWT-SVID validation, in the order of the JWT-SVID standard:
 *   1. compact JWS only, within the size limit;
 *   2. header: only alg, kid, typ; alg RS/ES/PS; typ JWT or JOSE;
 *   3. sub: a valid SPIFFE ID of a configured trust domain;
 *   4. signature with that domain's bundle, only its jwt-svid keys (empty bundle: refused);
 *   5. aud names our audience; exp present and in the future (small leeway); nbf/iat not ahead.
 * The workload then earns exactly the tags the policy's `workloads` map its ID to: none, refused.
 */
export function spiffeAuthenticator(
  o: SpiffeAuthenticatorOptions,
): Authenticator<{ type: 'spiffe-jwt'; token: string }> {
  return {
    type: 'spiffe-jwt',
    async authenticate(credential) {
      const token = credential.token;
      const { header, claims } = decodeCompactJws(token, o.maxTokenBytes);
      const extra = Object.keys(header).filter((k) => !ALLOWED_HEADER.has(k));
      if (extra.length) {
        throw refused(
          'jwt.header_field',
          `the token header holds ${extra.map((k) => quote(k)).join(', ')}; a JWT-SVID header may hold only alg, kid and typ`,
        );
      }
      const alg = checkAlg(header.alg);
      if (header.typ !== undefined && header.typ !== 'JWT' && header.typ !== 'JOSE') {
        throw refused('jwt.bad_typ', `the token's typ ${quote(header.typ)} must be "JWT" or "JOSE"`);
      }
      if (header.kid !== undefined && (typeof header.kid !== 'string' || header.kid === '')) {
        throw refused('jwt.malformed', 'the token\'s "kid" must be a non-empty string');
      }
      if (claims.sub === undefined)
        throw refused('spiffe.missing_sub', 'the token has no "sub" claim; a JWT-SVID\'s sub is its SPIFFE ID');
      const id = parseSpiffeId(claims.sub);
      if (typeof id === 'string')
        throw refused('spiffe.bad_id', `the token's sub ${quote(claims.sub)} is not a SPIFFE ID: ${id}`);
      const bundle = o.bundles.get(id.trustDomain);
      if (!bundle)
        throw refused(
          'spiffe.unknown_trust_domain',
          `trust domain ${quote(id.trustDomain)} is not trusted by this server`,
        );
      if (await bundle.isEmpty()) {
        throw refused(
          'spiffe.bundle_empty',
          `the bundle of trust domain ${id.trustDomain} holds no JWT authorities: nothing from it is trusted`,
        );
      }
      const kid = header.kid as string | undefined;
      const keys = await bundle.keysFor(kid);
      if (keys.length === 0)
        throw refused('jwt.unknown_kid', `no JWT authority of trust domain ${id.trustDomain} has kid ${quote(kid)}`);
      await verifySignature(token, alg, keys);
      checkAudience(claims, o.audience);
      const { expiresAt } = checkTimes(claims, o.now(), o.leewaySeconds);

      const tags = tagsForWorkload(o.policy(), { spiffeId: id.id });
      if (tags.length === 0) {
        throw forbidden(
          'workload.no_tags',
          `the policy maps ${id.id} to no tags: add a "workloads" entry for it to let it join`,
        );
      }
      return {
        tags,
        ephemeral: true,
        expiresAt,
        method: 'spiffe-jwt',
        subject: id.id,
        proof: { method: 'spiffe-jwt', spiffeId: id.id, trustDomain: id.trustDomain },
      };
    },
  };
}
