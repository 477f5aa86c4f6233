import { describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix, type Prefix } from '../../../protocol/ip/prefix.ts';
import {
  ALL_V4,
  ALL_V6,
  contains,
  lineAddress,
  lineValue,
  overlaps,
  prefixRange,
  rangeAsPrefix,
  rangeToPrefixes,
} from '../../../protocol/ip/range.ts';

const prefix = (text: string): Prefix => {
  const r = parsePrefix(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};
const range = (text: string) => prefixRange(prefix(text));

describe('address ranges on one number line', () => {
  it('keeps IPv4 and IPv6 apart: every IPv4 place lies below every IPv6 one', () => {
    expect(range('0.0.0.0/0')).toEqual(ALL_V4);
    expect(range('::/0')).toEqual(ALL_V6);
    expect(ALL_V4.hi < ALL_V6.lo).toBe(true);
    expect(overlaps(range('0.0.0.0/0'), range('::/96'))).toBe(false);
  });

  it('maps addresses to places and back', () => {
    for (const a of [
      { family: 4, value: 0n },
      { family: 4, value: 0xffffffffn },
      { family: 6, value: 0n },
      { family: 6, value: 0x64400001n },
    ] as const) {
      expect(lineAddress(lineValue(a))).toEqual(a);
    }
  });

  it('tests overlap and containment', () => {
    expect(contains(range('10.0.0.0/8'), range('10.1.0.0/16'))).toBe(true);
    expect(contains(range('10.1.0.0/16'), range('10.0.0.0/8'))).toBe(false);
    expect(overlaps(range('10.0.0.0/8'), range('10.255.255.255'))).toBe(true);
    expect(overlaps(range('10.0.0.0/8'), range('11.0.0.0/8'))).toBe(false);
  });

  it('splits a range into the fewest prefixes', () => {
    const texts = (lo: string, hi: string) => rangeToPrefixes({ lo: range(lo).lo, hi: range(hi).hi }).map(formatPrefix);
    expect(texts('10.0.0.0', '10.0.0.255')).toEqual(['10.0.0.0/24']);
    expect(texts('10.0.0.1', '10.0.0.6')).toEqual(['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6/32']);
    expect(texts('0.0.0.0', '255.255.255.255')).toEqual(['0.0.0.0/0']);
    expect(texts('::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toEqual(['::/0']);
    expect(rangeAsPrefix(range('fd00::/48'))).toEqual(prefix('fd00::/48'));
    expect(rangeAsPrefix({ lo: 1n, hi: 2n })).toBeUndefined();
  });
});
