import { constants, createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/**
 * Test signing authorities for workload tokens: real key pairs, their public JWKs for bundles
 * and JWK Sets, and tokens built byte by byte so that tests can also build every malformed and
 * hostile variant (odd headers, wrong algorithms, HMAC with a public key, ...).
 */
export interface Authority {
  kid: string;
  alg: 'RS256' | 'ES256' | 'ES384' | 'PS256';
  privateKey: KeyObject;
  /** Public JWK with kid (and `use`, when given). */
  jwk(use?: string): Record<string, unknown>;
  /** PEM of the public key (what an attacker would use as an HMAC secret). */
  publicPem: string;
}

export function authority(kid: string, alg: Authority['alg'] = 'ES256'): Authority {
  const pair = alg.startsWith('ES')
    ? generateKeyPairSync('ec', { namedCurve: alg === 'ES384' ? 'P-384' : 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pub = pair.publicKey.export({ format: 'jwk' });
  return {
    kid,
    alg,
    privateKey: pair.privateKey,
    jwk: (use) => ({ ...pub, kid, ...(use !== undefined && { use }) }),
    publicPem: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** Signs header and claims exactly as given, with the authority's own algorithm. */
export function signToken(
  a: Authority,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: a.alg, kid: a.kid, typ: 'JWT' },
): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const alg = a.alg;
  const digest = `sha${alg.slice(2)}`;
  const sig = alg.startsWith('ES')
    ? sign(digest, Buffer.from(input), { key: a.privateKey, dsaEncoding: 'ieee-p1363' })
    : alg.startsWith('PS')
      ? sign(digest, Buffer.from(input), {
          key: a.privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: 32,
        })
      : sign(digest, Buffer.from(input), a.privateKey);
  return `${input}.${sig.toString('base64url')}`;
}

/** An HS256 token keyed with `secret` (the classic algorithm-confusion attack). */
export function hmacToken(secret: string, claims: Record<string, unknown>, header: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Raw parts, for garbage. */
export function rawToken(header: unknown, claims: unknown, signature = 'c2ln'): string {
  return `${b64(header)}.${b64(claims)}.${signature}`;
}

/** A SPIFFE bundle (JWK Set) document. */
export function spiffeBundle(
  keys: Array<Record<string, unknown>>,
  refreshHint?: number,
  sequence = 1,
): Record<string, unknown> {
  return { keys, spiffe_sequence: sequence, ...(refreshHint !== undefined && { spiffe_refresh_hint: refreshHint }) };
}

export const seconds = (ms: number) => Math.floor(ms / 1000);
