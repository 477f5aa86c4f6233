import { isTimeSeconds } from '../../protocol/time.ts';
import { CredentialSourceError } from './errors.ts';

/**
 * What the agent may know about a token it cannot verify (the server does that): that it has the
 * shape of a compact JWS, and when it says it expires, so renewal can be scheduled before then.
 */
export const MAX_TOKEN_BYTES = 65_536;

const B64URL = /^[A-Za-z0-9_-]+$/;

/** Throws `token.not_jwt` (naming `where`) unless `token` is header.payload.signature with JSON header and claims. */
export function checkJwtShape(token: string, where: string): void {
  const parts = token.split('.');
  const bad = (why: string) => new CredentialSourceError('token.not_jwt', `${where} does not hold a JWT: ${why}`);
  if (parts.length !== 3) throw bad(`expected 3 dot-separated parts, found ${parts.length}`);
  if (!parts.every((p) => B64URL.test(p))) throw bad('a part is empty or not base64url');
  for (const [i, name] of [
    [0, 'header'],
    [1, 'claims'],
  ] as const) {
    const json = decodeJson(parts[i]!);
    if (json === undefined || typeof json !== 'object' || json === null || Array.isArray(json))
      throw bad(`the ${name} is not a JSON object`);
  }
}

/**
 * The token's `exp` in milliseconds, unverified; undefined when absent, not a number, or not a
 * time a date can hold (the server refuses such a token too, and showing one would throw).
 */
export function unverifiedExpiry(token: string): number | undefined {
  const claims = decodeJson(token.split('.')[1] ?? '') as { exp?: unknown } | undefined;
  return isTimeSeconds(claims?.exp) ? Math.floor(claims.exp * 1000) : undefined;
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}
