import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { issueSecret, parseSecret, secretMatches } from '../../../server/identity/secrets.ts';

describe('bearer secrets', () => {
  it('issues trellis-<kind>-<id>-<secret> with a 16-character id and a 256-bit secret', () => {
    const auth = issueSecret('auth');
    expect(auth.secret).toMatch(/^trellis-auth-[a-z0-9]{16}-[A-Za-z0-9_-]{43}$/);
    expect(auth.secret.startsWith(`trellis-auth-${auth.id}-`)).toBe(true);
    expect(issueSecret('api').secret).toMatch(/^trellis-api-[a-z0-9]{16}-[A-Za-z0-9_-]{43}$/);
  });

  it('stores only the SHA-256 of the secret part, never the secret', () => {
    const { secret, secretHash } = issueSecret('api');
    const secretPart = secret.split('-').slice(3).join('-');
    expect(secretHash).toBe(createHash('sha256').update(secretPart).digest('hex'));
    expect(secretHash).not.toContain(secretPart);
  });

  it('issues a different id and secret every time', () => {
    const issued = Array.from({ length: 200 }, () => issueSecret('auth'));
    expect(new Set(issued.map((s) => s.id)).size).toBe(200);
    expect(new Set(issued.map((s) => s.secret)).size).toBe(200);
  });

  it('parses a presented secret of the expected kind into id and secret part', () => {
    const { id, secret, secretHash } = issueSecret('auth');
    const parsed = parseSecret('auth', secret);
    expect(parsed?.id).toBe(id);
    expect(secretMatches(parsed!.secretPart, secretHash)).toBe(true);
  });

  it('does not take one kind of secret for another', () => {
    const api = issueSecret('api');
    const auth = issueSecret('auth');
    expect(parseSecret('auth', api.secret)).toBeUndefined();
    expect(parseSecret('api', auth.secret)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['no prefix', 'abcdef'],
    ['short id', 'trellis-auth-abc-' + 'a'.repeat(43)],
    ['upper-case id', 'trellis-auth-ABCDEFGHIJKLMNOP-' + 'a'.repeat(43)],
    ['short secret', 'trellis-auth-abcdefghijklmnop-' + 'a'.repeat(42)],
    ['long secret', 'trellis-auth-abcdefghijklmnop-' + 'a'.repeat(44)],
    ['bad character', 'trellis-auth-abcdefghijklmnop-' + 'a'.repeat(42) + '='],
    ['trailing space', 'trellis-auth-abcdefghijklmnop-' + 'a'.repeat(43) + ' '],
    ['unknown kind', 'trellis-root-abcdefghijklmnop-' + 'a'.repeat(43)],
  ])('refuses a malformed secret (%s)', (_, presented) => {
    expect(parseSecret('auth', presented)).toBeUndefined();
  });

  it('matches only the right secret part', () => {
    const a = issueSecret('auth');
    const b = issueSecret('auth');
    const partOf = (s: string) => parseSecret('auth', s)!.secretPart;
    expect(secretMatches(partOf(a.secret), a.secretHash)).toBe(true);
    expect(secretMatches(partOf(b.secret), a.secretHash)).toBe(false);
    const flipped = partOf(a.secret).replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    expect(secretMatches(flipped, a.secretHash)).toBe(false);
  });

  it('does not match against a damaged stored hash', () => {
    const a = issueSecret('auth');
    const part = parseSecret('auth', a.secret)!.secretPart;
    expect(secretMatches(part, '')).toBe(false);
    expect(secretMatches(part, a.secretHash.slice(0, 32))).toBe(false);
    expect(secretMatches(part, 'zz'.repeat(32))).toBe(false);
  });
});
