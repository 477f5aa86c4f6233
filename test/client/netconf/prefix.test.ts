import { describe, expect, it } from 'vitest';
import { canonicalPrefix, formatAddress, lastAddress, parsePrefix } from '../../../client/netconf/prefix.ts';

describe('IP prefixes', () => {
  it('reads bare addresses as host prefixes', () => {
    expect(parsePrefix('100.64.0.7')).toEqual({ family: 4, address: 0x64400007n, bits: 32 });
    expect(parsePrefix('fd7a::7').bits).toBe(128);
  });

  it('prints one canonical form (RFC 5952 for IPv6)', () => {
    expect(canonicalPrefix('FD7A:115C:A1E0:0:0:0:0:7/128')).toBe('fd7a:115c:a1e0::7/128');
    expect(canonicalPrefix('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1/128');
    expect(canonicalPrefix('::/0')).toBe('::/0');
    expect(canonicalPrefix('::ffff:10.0.0.1')).toBe('::ffff:a00:1/128');
    expect(formatAddress(6, 1n)).toBe('::1');
    expect(canonicalPrefix('0.0.0.0/0')).toBe('0.0.0.0/0');
  });

  it('knows the last address of a prefix', () => {
    expect(formatAddress(4, lastAddress(parsePrefix('100.64.0.0/10')))).toBe('100.127.255.255');
    expect(formatAddress(6, lastAddress(parsePrefix('fd7a:115c:a1e0::/48')))).toBe(
      'fd7a:115c:a1e0:ffff:ffff:ffff:ffff:ffff',
    );
  });

  it('refuses host bits, bad lengths, zones and non-addresses with a message naming the input', () => {
    expect(() => parsePrefix('100.64.0.1/10')).toThrowError(/did you mean 100.64.0.0\/10/);
    expect(parsePrefix('100.64.0.1/10', { loose: true }).address).toBe(0x64400001n);
    for (const bad of ['100.64.0.0/33', 'fd00::/129', '1.2.3.4/', 'fe80::1%eth0', 'host', '1.2.3', '']) {
      expect(() => parsePrefix(bad)).toThrowError(expect.objectContaining({ code: 'netconf.invalid_prefix' }));
    }
  });
});
