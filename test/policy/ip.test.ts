/** Address arithmetic on one number line for IPv4 and IPv6. */
import { describe, expect, it } from 'vitest';
import {
  formatAddress,
  formatPrefix,
  parseAddress,
  parsePrefix,
  prefixRange,
  rangeToPrefixes,
  subtractRanges,
} from '../../policy/ip.ts';

const prefix = (s: string) => {
  const p = parsePrefix(s);
  if (!p.ok) throw new Error(p.reason);
  return p.prefix;
};

describe('ip', () => {
  it('parses IPv4 and IPv6, including :: and embedded IPv4', () => {
    expect(parseAddress('100.64.0.1')?.family).toBe(4);
    expect(formatAddress(parseAddress('fd7a:115c:a1e0:0:0:0:0:1')?.value as bigint)).toBe('fd7a:115c:a1e0::1');
    expect(formatAddress(parseAddress('::ffff:1.2.3.4')?.value as bigint)).toBe('::ffff:102:304');
    for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', '1::2::3', 'fd7a::g', ''])
      expect(parseAddress(bad)).toBeUndefined();
  });

  it('keeps IPv4 and IPv6 apart', () => {
    const v4 = prefixRange(prefix('0.0.0.0/0'));
    const v6 = prefixRange(prefix('::/0'));
    expect(v4.hi < v6.lo).toBe(true);
  });

  it('rejects prefixes with host bits set, naming the canonical form', () => {
    expect(parsePrefix('10.0.0.1/8')).toEqual({
      ok: false,
      reason: '"10.0.0.1/8" has host bits set; write 10.0.0.0/8',
    });
    expect(parsePrefix('10.0.0.0/33').ok).toBe(false);
  });

  it('writes a single host without a length, as Tailscale filters do', () => {
    expect(formatPrefix(prefix('100.64.0.1/32'))).toBe('100.64.0.1');
    expect(formatPrefix(prefix('fd7a:115c:a1e0::/48'))).toBe('fd7a:115c:a1e0::/48');
  });

  it('splits ranges into the fewest prefixes', () => {
    const cgnat = subtractRanges([prefixRange(prefix('100.64.0.0/10'))], [prefixRange(prefix('100.115.92.0/23'))]);
    const texts = cgnat.flatMap(rangeToPrefixes).map(formatPrefix);
    expect(texts[0]).toBe('100.64.0.0/11');
    expect(texts).not.toContain('100.115.92.0/23');
    expect(texts).toContain('100.115.94.0/23');
  });
});
