import { LATEST_TIME_MS, isTimeSeconds, isoTime } from '../../../protocol/time.ts';
import { quote, refused } from './refusal.ts';

/** Registered-claim checks (RFC 7519 section 4.1) shared by the workload authenticators. */

/**
 * `exp` must be present and in the future; `nbf` and `iat`, when present, not in the future.
 * Each must be a time Trellis can store and show (protocol/time.ts): a correctly signed `exp`
 * in the year 300000 once made registration fail after the node was written.
 */
export function checkTimes(
  claims: Record<string, unknown>,
  nowMs: number,
  leewaySeconds: number,
): { expiresAt: number } {
  const now = nowMs / 1000;
  const { exp, nbf, iat } = claims;
  if (exp === undefined) throw refused('jwt.missing_exp', 'the token has no "exp" (expiry) claim; it is required');
  if (!isTimeSeconds(exp)) throw badTime('exp');
  if (exp + leewaySeconds <= now) {
    throw refused('jwt.expired', `the token expired at ${isoTime(exp * 1000)}; present a fresh one`);
  }
  if (nbf !== undefined) {
    if (!isTimeSeconds(nbf)) throw badTime('nbf');
    if (nbf - leewaySeconds > now) {
      throw refused('jwt.not_yet_valid', `the token is not valid before ${isoTime(nbf * 1000)} (check the clocks)`);
    }
  }
  if (iat !== undefined) {
    if (!isTimeSeconds(iat)) throw badTime('iat');
    if (iat - leewaySeconds > now)
      throw refused('jwt.not_yet_valid', 'the token was issued in the future (check the clocks)');
  }
  return { expiresAt: Math.floor(exp * 1000) };
}

/** `aud` must be present (a string or a list of strings) and name `audience`. */
export function checkAudience(claims: Record<string, unknown>, audience: string): void {
  const { aud } = claims;
  if (aud === undefined)
    throw refused('jwt.missing_audience', `the token has no "aud" claim; it must name ${quote(audience)}`);
  const list = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === 'string')) {
    throw refused('jwt.bad_claim', 'the token\'s "aud" claim must be a string or a non-empty list of strings');
  }
  if (!list.includes(audience)) {
    throw refused(
      'jwt.wrong_audience',
      `the token's audience ${quote(list.join(', '))} does not include ${quote(audience)}`,
    );
  }
}

function badTime(claim: string) {
  return refused(
    'jwt.bad_claim',
    `the token's "${claim}" claim is not a number of seconds between 1970 and ${isoTime(LATEST_TIME_MS)}`,
  );
}
