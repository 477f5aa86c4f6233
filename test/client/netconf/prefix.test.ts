import { describe, expect, it } from 'vitest';
import { canonicalPrefix, isPrefix, prefixOrThrow } from '../../../client/netconf/prefix.ts';

// The parsing itself is specified in test/protocol/ip/; this is the agent's throwing use of it.
describe("the agent's prefixes", () => {
  it('reads prefixes and bare addresses, and prints the canonical text', () => {
    expect(prefixOrThrow('100.64.0.7')).toEqual({ family: 4, address: 0x64400007n, bits: 32 });
    expect(canonicalPrefix('FD7A:115C:A1E0:0:0:0:0:7/128')).toBe('fd7a:115c:a1e0::7/128');
    expect(canonicalPrefix('::ffff:10.0.0.1')).toBe('::ffff:a00:1/128');
  });

  it('throws netconf.invalid_prefix with the parser message for what is not a prefix', () => {
    expect(() => prefixOrThrow('100.64.0.1/10')).toThrowError(/write 100.64.0.0\/10/);
    for (const bad of ['100.64.0.0/33', 'fd00::/129', '1.2.3.4/', 'fe80::1%eth0', 'host', '1.2.3', '']) {
      expect(() => prefixOrThrow(bad)).toThrowError(
        expect.objectContaining({ name: 'PrefixError', code: 'netconf.invalid_prefix' }),
      );
    }
  });

  it('answers whether a text is a prefix, a bare address counting only when allowed', () => {
    expect(isPrefix('10.0.0.0/8')).toBe(true);
    expect(isPrefix('10.0.0.1')).toBe(true);
    expect(isPrefix('10.0.0.1', { bareAddress: false })).toBe(false);
    expect(isPrefix('10.0.0.1/8')).toBe(false);
  });
});
