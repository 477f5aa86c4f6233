import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LATEST_TIME_MS, isTimeMs, isTimeSeconds, isoTime } from '../../protocol/time.ts';

describe('times', () => {
  it('bounds times to 1970 .. the end of year 9999, whole milliseconds', () => {
    expect(isoTime(LATEST_TIME_MS)).toBe('9999-12-31T23:59:59.999Z');
    for (const ok of [0, 1, Date.now(), LATEST_TIME_MS]) expect(isTimeMs(ok), String(ok)).toBe(true);
    for (const bad of [-1, LATEST_TIME_MS + 1, 8.64e15 + 1, 1.5, NaN, Infinity, '1', null])
      expect(isTimeMs(bad), String(bad)).toBe(false);
    expect(isTimeSeconds(LATEST_TIME_MS / 1000)).toBe(true);
    expect(isTimeSeconds(1e13)).toBe(false);
    expect(isTimeSeconds(1.5)).toBe(true);
  });

  it('formats every number, even one out of range, as a time the wire schema accepts', () => {
    const wire = z.string().datetime();
    for (const ms of [0, Date.now(), 1e16, -1e16, 8.64e15, Number.MAX_VALUE, -Infinity, Infinity, NaN, 1.5]) {
      expect(() => wire.parse(isoTime(ms)), String(ms)).not.toThrow();
    }
    expect(isoTime(1e16)).toBe('9999-12-31T23:59:59.999Z');
    expect(isoTime(-5)).toBe('1970-01-01T00:00:00.000Z');
  });
});
