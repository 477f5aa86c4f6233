import { describe, expect, it } from 'vitest';
import { unverifiedExpiry } from '../../../client/identity/jwt-shape.ts';

const token = (claims: unknown) =>
  [{ alg: 'ES256' }, claims].map((p) => Buffer.from(JSON.stringify(p)).toString('base64url')).join('.') + '.c2ln';

describe('what the agent reads from a token it cannot verify', () => {
  it('reads exp as milliseconds', () => {
    expect(unverifiedExpiry(token({ exp: 1_800_000_000 }))).toBe(1_800_000_000_000);
    expect(unverifiedExpiry(token({ exp: 1_800_000_000.5 }))).toBe(1_800_000_000_500);
  });

  it('takes an exp no date can hold (or before 1970, or no number) as no expiry', () => {
    for (const exp of [1e13, 8.64e12 + 1, 3e11, -1, '1800000000', null]) {
      const ms = unverifiedExpiry(token({ exp }));
      expect(ms, String(exp)).toBeUndefined();
    }
  });
});
