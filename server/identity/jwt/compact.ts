import { refused } from './refusal.ts';

/**
 * A JWS in compact serialization (RFC 7515 section 3.1), decoded but NOT verified: callers use
 * the header and claims only to pick the key, then verify the signature before trusting them.
 */
interface DecodedJws {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

export function decodeCompactJws(token: string, maxBytes: number): DecodedJws {
  if (token.length > maxBytes) throw refused('jwt.too_large', `the token is longer than ${maxBytes} bytes`);
  const parts = token.split('.');
  if (parts.length === 5)
    throw refused('jwt.not_jws', 'the token is an encrypted JWE; only a signed JWS in compact form is accepted');
  if (parts.length !== 3)
    throw refused('jwt.malformed', 'the token is not a compact JWS (three base64url parts: header.payload.signature)');
  const [h, p, s] = parts as [string, string, string];
  // An empty signature is let through here so that `alg: none` is refused by name, later.
  if (!B64URL.test(h) || !B64URL.test(p) || (s !== '' && !B64URL.test(s))) {
    throw refused(
      'jwt.malformed',
      "the token's header and payload must be non-empty base64url, and its signature base64url (no padding, no whitespace)",
    );
  }
  // Unused trailing bits would give one signed token many spellings (decoders ignore them):
  // the token text is then no identifier for the token. See server/identity/README.md.
  for (const [part, name] of [
    [h, 'header'],
    [p, 'payload'],
    [s, 'signature'],
  ] as const) {
    if (Buffer.from(part, 'base64url').toString('base64url') !== part) {
      throw refused(
        'jwt.malformed',
        `the token's ${name} is not canonical base64url (its unused trailing bits must be 0)`,
      );
    }
  }
  return { header: jsonObject(h, 'header'), claims: jsonObject(p, 'payload') };
}

function jsonObject(part: string, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw refused('jwt.malformed', `the token's ${name} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw refused('jwt.malformed', `the token's ${name} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
