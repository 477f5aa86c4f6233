import { parseJwks } from '../jwt/jwks.ts';
import type { LoadedKeys } from '../jwt/key-source.ts';

/** SPIFFE bundles default to a five-minute refresh when they give no hint. */
export const DEFAULT_REFRESH_HINT_SECONDS = 300;
const MIN_REFRESH_SECONDS = 10;
const MAX_REFRESH_SECONDS = 24 * 3600;

/**
 * A SPIFFE trust bundle (SPIFFE Trust Domain and Bundle standard, section 4): a JWK Set whose
 * JWT authorities are the keys with `use: "jwt-svid"`. X.509 authorities (`use: "x509-svid"`)
 * and keys with any other or no `use` never verify a JWT-SVID. An empty `keys` list is valid and
 * means that nothing from the trust domain is trusted.
 */
export function parseSpiffeBundle(json: unknown): LoadedKeys & { sequence?: number; skipped: string[] } {
  const { keys, skipped } = parseJwks(json, (jwk) => jwk.use === 'jwt-svid');
  const doc = json as { spiffe_refresh_hint?: unknown; spiffe_sequence?: unknown };
  const hint =
    typeof doc.spiffe_refresh_hint === 'number' && doc.spiffe_refresh_hint > 0 ? doc.spiffe_refresh_hint : undefined;
  // The standard requires a kid on every JWT authority: without one a token cannot name it.
  const named = keys.filter((k) => k.kid !== undefined && k.kid !== '');
  if (named.length < keys.length)
    skipped.push(`${keys.length - named.length} jwt-svid key(s) without a "kid" left out`);
  return {
    keys: named,
    refreshSeconds: hint === undefined ? undefined : Math.min(MAX_REFRESH_SECONDS, Math.max(MIN_REFRESH_SECONDS, hint)),
    sequence: typeof doc.spiffe_sequence === 'number' ? doc.spiffe_sequence : undefined,
    skipped,
  };
}
