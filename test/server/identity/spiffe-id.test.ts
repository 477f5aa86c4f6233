import { describe, expect, it } from 'vitest';
import { parseSpiffeId } from '../../../server/identity/spiffe/spiffe-id.ts';

describe('SPIFFE IDs (SPIFFE-ID standard)', () => {
  it.each([
    ['spiffe://example.org', 'example.org', ''],
    ['spiffe://prod.example.org/ns/payments/sa/api', 'prod.example.org', '/ns/payments/sa/api'],
    ['spiffe://a-b_c.9/x.y-z_1/A', 'a-b_c.9', '/x.y-z_1/A'],
  ])('accepts %s', (id, trustDomain, path) => {
    expect(parseSpiffeId(id)).toEqual({ id, trustDomain, path });
  });

  it.each([
    [42, 'not a string'],
    ['https://example.org/x', 'does not start with "spiffe://"'],
    ['SPIFFE://example.org/x', 'scheme must be lowercase'],
    ['spiffe://', 'trust domain is empty'],
    ['spiffe:///path', 'trust domain is empty'],
    ['spiffe://Example.org/x', 'lowercase letters'],
    ['spiffe://example.org:8080/x', 'must not hold a port'],
    ['spiffe://user@example.org/x', 'must not hold userinfo'],
    ['spiffe://exa%20mple.org/x', 'lowercase letters'],
    ['spiffe://example.org/', 'must not end with "/"'],
    ['spiffe://example.org/a/', 'must not end with "/"'],
    ['spiffe://example.org//a', 'empty segment'],
    ['spiffe://example.org/a/./b', '"." segment'],
    ['spiffe://example.org/a/../b', '".." segment'],
    ['spiffe://example.org/a%2Fb', 'percent-encoding'],
    ['spiffe://example.org/a?x=1', 'no query'],
    ['spiffe://example.org/a#frag', 'fragment'],
    ['spiffe://example.org/a b', 'only letters'],
    [`spiffe://${'a'.repeat(256)}/x`, 'longer than 255 bytes'],
    [`spiffe://example.org/${'a/'.repeat(1100)}a`, 'longer than 2048 bytes'],
  ])('refuses %j: %s', (id, reason) => {
    const result = parseSpiffeId(id);
    expect(typeof result).toBe('string');
    expect(result).toContain(reason);
  });

  it('accepts a trust domain of exactly 255 bytes and an ID of exactly 2048', () => {
    expect(typeof parseSpiffeId(`spiffe://${'a'.repeat(255)}`)).toBe('object');
    const id = `spiffe://example.org/${'a'.repeat(2048 - 'spiffe://example.org/'.length)}`;
    expect(id.length).toBe(2048);
    expect(typeof parseSpiffeId(id)).toBe('object');
  });
});
