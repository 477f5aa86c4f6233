import { compactVerify } from 'jose';
import { keyFitsAlg, type VerificationKey } from './jwks.ts';
import { refused } from './refusal.ts';

/** Asymmetric algorithms only (RFC 7518 3.3-3.5): never `none`, never HS* (a public key as an HMAC secret). */
const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'] as const;

export function checkAlg(alg: unknown): string {
  if (typeof alg !== 'string') throw refused('jwt.bad_alg', 'the token header has no "alg"');
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
    throw refused(
      'jwt.bad_alg',
      `the token's algorithm ${JSON.stringify(alg.slice(0, 20))} is not accepted (only ${SIGNING_ALGORITHMS.join(', ')})`,
    );
  }
  return alg;
}

/**
 * Verifies the signature with the candidate keys (the one matching `kid`, or every key that fits
 * the algorithm when the token names none). Succeeds if one verifies; never says which failed.
 */
export async function verifySignature(token: string, alg: string, candidates: VerificationKey[]): Promise<void> {
  const usable = candidates.filter((k) => keyFitsAlg(k, alg));
  if (usable.length === 0) throw refused('jwt.key_mismatch', `no trusted key for this token can verify ${alg}`);
  for (const k of usable) {
    try {
      await compactVerify(token, k.key, { algorithms: [alg] });
      return;
    } catch {
      // try the next candidate
    }
  }
  throw refused('jwt.bad_signature', 'signature verification failed');
}
