import { describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix } from '../../../protocol/ip/prefix.ts';
import { prefixRange, rangeToPrefixes } from '../../../protocol/ip/range.ts';
import { mergeRanges, rangesHave, subtractRanges } from '../../../protocol/ip/range-set.ts';

const range = (text: string) => {
  const r = parsePrefix(text);
  if (!r.ok) throw new Error(r.error.message);
  return prefixRange(r.value);
};

describe('range sets', () => {
  it('merges ranges that overlap or touch, sorted; leaves gaps', () => {
    expect(
      mergeRanges([
        { lo: 10n, hi: 20n },
        { lo: 1n, hi: 3n },
        { lo: 4n, hi: 5n },
        { lo: 15n, hi: 30n },
        { lo: 40n, hi: 40n },
      ]),
    ).toEqual([
      { lo: 1n, hi: 5n },
      { lo: 10n, hi: 30n },
      { lo: 40n, hi: 40n },
    ]);
    expect(mergeRanges([])).toEqual([]);
  });

  it('does not change the ranges it was given', () => {
    const given = [
      { lo: 1n, hi: 5n },
      { lo: 2n, hi: 9n },
    ];
    mergeRanges(given);
    expect(given[0]).toEqual({ lo: 1n, hi: 5n });
  });

  it('subtracts: CGNAT without the ChromeOS range', () => {
    const cgnat = subtractRanges([range('100.64.0.0/10')], [range('100.115.92.0/23')]);
    const texts = cgnat.flatMap(rangeToPrefixes).map(formatPrefix);
    expect(texts[0]).toBe('100.64.0.0/11');
    expect(texts).not.toContain('100.115.92.0/23');
    expect(texts).toContain('100.115.94.0/23');
  });

  it('knows whether a union holds a value', () => {
    const union = mergeRanges([range('10.0.0.0/9'), range('10.128.0.0/9')]);
    expect(union).toEqual([range('10.0.0.0/8')]);
    expect(rangesHave(union, range('10.200.0.1').lo)).toBe(true);
    expect(rangesHave(union, range('11.0.0.0').lo)).toBe(false);
  });
});
