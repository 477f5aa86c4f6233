import { describe, expect, it } from 'vitest';
import { formatAddress } from '../../../protocol/ip/address.ts';
import {
  formatPrefix,
  formatPrefixOrHost,
  lastAddress,
  maskedPrefix,
  parsePrefix,
  prefixContains,
  prefixCovers,
  type Prefix,
  type PrefixSyntax,
} from '../../../protocol/ip/prefix.ts';

const prefix = (text: string, syntax: PrefixSyntax = {}): Prefix => {
  const r = parsePrefix(text, syntax);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};
const canonical = (text: string) => formatPrefix(prefix(text));
const refusal = (text: string, syntax: PrefixSyntax = {}) => {
  const r = parsePrefix(text, syntax);
  if (r.ok) throw new Error(`${text} was accepted`);
  return r.error;
};

describe('IP prefixes', () => {
  it('reads bare addresses as host prefixes, unless a length is required', () => {
    expect(prefix('100.64.0.7')).toEqual({ family: 4, address: 0x64400007n, bits: 32 });
    expect(prefix('fd7a::7').bits).toBe(128);
    expect(refusal('10.0.0.0', { bareAddress: false })).toEqual({
      code: 'ip.missing_prefix_length',
      message: '"10.0.0.0" has no prefix length (as in 10.0.0.0/32)',
    });
  });

  it('prints one canonical form (RFC 5952 for IPv6), always with a length', () => {
    expect(canonical('FD7A:115C:A1E0:0:0:0:0:7/128')).toBe('fd7a:115c:a1e0::7/128');
    expect(canonical('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1/128');
    expect(canonical('::/0')).toBe('::/0');
    expect(canonical('::ffff:10.0.0.1')).toBe('::ffff:a00:1/128');
    expect(canonical('0.0.0.0/0')).toBe('0.0.0.0/0');
  });

  it('writes a single host without a length where packet filters do', () => {
    expect(formatPrefixOrHost(prefix('100.64.0.1/32'))).toBe('100.64.0.1');
    expect(formatPrefixOrHost(prefix('fd7a:115c:a1e0::/48'))).toBe('fd7a:115c:a1e0::/48');
  });

  it('knows the first and last address of a prefix', () => {
    const last = (text: string) => formatAddress({ family: prefix(text).family, value: lastAddress(prefix(text)) });
    expect(last('100.64.0.0/10')).toBe('100.127.255.255');
    expect(last('fd7a:115c:a1e0::/48')).toBe('fd7a:115c:a1e0:ffff:ffff:ffff:ffff:ffff');
    expect(last('0.0.0.0/0')).toBe('255.255.255.255');
    expect(last('10.1.2.3/32')).toBe('10.1.2.3');
  });

  it('refuses host bits, naming the prefix meant; or keeps them for an interface address', () => {
    expect(refusal('10.0.0.1/8')).toEqual({
      code: 'ip.host_bits_set',
      message: '"10.0.0.1/8" has host bits set; write 10.0.0.0/8',
    });
    expect(refusal('fd00::1/64').message).toContain('write fd00::/64');
    const iface = prefix('192.168.1.20/24', { hostBits: 'keep' });
    expect(iface.address).toBe(0xc0a80114n);
    expect(formatPrefix(maskedPrefix(iface))).toBe('192.168.1.0/24');
  });

  it.each([
    '10.0.0.0/33',
    'fd00::/129',
    '1.2.3.4/',
    '10.0.0.0/08',
    '10.0.0.0/-1',
    '10.0.0.0/ 8',
    '10.0.0.0/8/9',
    '10.0.0.0/0x8',
    '10.0.0.0/8.0',
    '10.0.0.0/1e1',
  ])('refuses the length of %j with ip.bad_prefix_length', (bad) => {
    expect(refusal(bad).code).toBe('ip.bad_prefix_length');
    expect(refusal(bad).message).toMatch(/^".*": the prefix length must be 0-(32 for IPv4|128 for IPv6)$/);
  });

  it.each(['', 'host', '1.2.3', '/8', 'fe80::1%eth0/64', '300.0.0.0/8', '::ffff:10.0.0.0/104'])(
    'refuses %j as no address (an IPv4 tail only where the caller refuses it)',
    (bad) => {
      const syntax = bad.includes('ffff') ? { ipv4Tail: false } : {};
      expect(refusal(bad, syntax)).toEqual({
        code: 'ip.not_an_address',
        message: `${JSON.stringify(bad)} is not an IP address or CIDR prefix`,
      });
    },
  );

  it('refuses any text longer than the longest prefix, without reading it', () => {
    expect(refusal(`10.0.0.0/8${' '.repeat(100_000)}`).code).toBe('ip.not_an_address');
  });

  it('tests membership and cover within one family only', () => {
    const net = prefix('10.1.0.0/16');
    expect(prefixContains(net, { family: 4, value: 0x0a01ffffn })).toBe(true);
    expect(prefixContains(net, { family: 4, value: 0x0a020000n })).toBe(false);
    expect(prefixContains(net, { family: 6, value: 0x0a010001n })).toBe(false);
    expect(prefixContains(prefix('10.1.2.3/16', { hostBits: 'keep' }), { family: 4, value: 0x0a010001n })).toBe(true);
    expect(prefixCovers(net, prefix('10.1.2.0/24'))).toBe(true);
    expect(prefixCovers(prefix('10.1.2.0/24'), net)).toBe(false);
    expect(prefixCovers(prefix('::/0'), net)).toBe(false);
  });
});
