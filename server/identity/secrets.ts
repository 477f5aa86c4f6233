import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Bearer secrets (pre-auth keys, API keys) look like `trellis-auth-<id>-<secret>`: the id finds
 * the record, the secret is checked against its stored SHA-256. The secret has 256 bits of
 * entropy, so a plain hash is enough and the database never holds anything usable.
 */
type SecretKind = 'auth' | 'api';

const FORMAT = /^trellis-(auth|api)-([a-z0-9]{16})-([A-Za-z0-9_-]{43})$/;

interface IssuedSecret {
  id: string;
  secret: string;
  secretHash: string;
}

export function issueSecret(kind: SecretKind): IssuedSecret {
  const id = randomBytes(10)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 16)
    .padEnd(16, '0');
  const secretPart = randomBytes(32).toString('base64url');
  return { id, secret: `trellis-${kind}-${id}-${secretPart}`, secretHash: hashSecret(secretPart) };
}

/** Splits a presented secret; undefined when it is not of this kind's form. */
export function parseSecret(kind: SecretKind, presented: string): { id: string; secretPart: string } | undefined {
  const m = FORMAT.exec(presented);
  if (!m || m[1] !== kind) return undefined;
  return { id: m[2]!, secretPart: m[3]! };
}

export function secretMatches(secretPart: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secretPart), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

function hashSecret(secretPart: string): string {
  return createHash('sha256').update(secretPart).digest('hex');
}
