import { createPublicKey, type KeyObject } from 'node:crypto';

/** A public signing key from a JWK Set, ready to verify with. */
export interface VerificationKey {
  kid?: string;
  key: KeyObject;
  /** 'RSA' or 'EC'. */
  kty: string;
  /** EC curve: P-256, P-384 or P-521. */
  crv?: string;
}

interface ParsedJwks {
  keys: VerificationKey[];
  /** Keys left out, with why (logged, so an operator sees a bad bundle). */
  skipped: string[];
}

/**
 * Public RSA and EC keys of a JWK Set (RFC 7517). `accept` picks which JWKs count (e.g. only
 * `use: jwt-svid` in a SPIFFE bundle); anything else, private keys and unusable keys are skipped.
 */
export function parseJwks(json: unknown, accept: (jwk: Record<string, unknown>) => boolean): ParsedJwks {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { keys?: unknown }).keys)) {
    throw new Error('not a JWK Set: expected an object with a "keys" list');
  }
  const keys: VerificationKey[] = [];
  const skipped: string[] = [];
  for (const [i, raw] of (json as { keys: unknown[] }).keys.entries()) {
    if (typeof raw !== 'object' || raw === null) {
      skipped.push(`keys[${i}]: not an object`);
      continue;
    }
    const jwk = raw as Record<string, unknown>;
    if (!accept(jwk)) continue;
    const name = `keys[${i}]${typeof jwk.kid === 'string' ? ` (kid ${jwk.kid})` : ''}`;
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC') {
      skipped.push(`${name}: key type ${String(jwk.kty)} cannot sign JWTs accepted here (RSA or EC only)`);
      continue;
    }
    if ('d' in jwk) {
      skipped.push(`${name}: holds private key material; a key set must hold public keys only`);
      continue;
    }
    try {
      const { kty, n, e, crv, x, y } = jwk as Record<string, string>;
      const pub = kty === 'RSA' ? { kty, n, e } : { kty, crv, x, y };
      const key = createPublicKey({ key: pub as never, format: 'jwk' });
      keys.push({
        kid: typeof jwk.kid === 'string' ? jwk.kid : undefined,
        key,
        kty: kty!,
        crv: kty === 'EC' ? crv : undefined,
      });
    } catch (err) {
      skipped.push(`${name}: not a valid public key (${(err as Error).message})`);
    }
  }
  return { keys, skipped };
}

/** Whether a key can verify this algorithm (RS/PS need RSA; ES256/384/512 need P-256/384/521). */
export function keyFitsAlg(key: VerificationKey, alg: string): boolean {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return key.kty === 'RSA';
  const curve = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg];
  return key.kty === 'EC' && curve !== undefined && key.crv === curve;
}
