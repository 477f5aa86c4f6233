import { describe, expect, it } from 'vitest';
import {
  MIN_SUPPORTED_PROTOCOL_VERSION,
  PROTOCOL_HISTORY,
  PROTOCOL_VERSION,
  SPOKEN_PROTOCOL_VERSIONS,
  speaksProtocol,
} from '../../protocol/version.ts';

describe('protocol versions', () => {
  it('keep a dated line for every version, in order, the last one current', () => {
    expect(PROTOCOL_HISTORY.map((h) => h.version)).toEqual(Array.from({ length: PROTOCOL_VERSION }, (_, i) => i + 1));
    const dates = PROTOCOL_HISTORY.map((h) => h.date);
    for (const d of dates) expect(d).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect([...dates].sort()).toEqual(dates);
    for (const h of PROTOCOL_HISTORY) expect(h.change.length).toBeGreaterThan(10);
  });

  it('are spoken from the oldest supported to the current one, and no others', () => {
    expect(SPOKEN_PROTOCOL_VERSIONS).toBe(`${MIN_SUPPORTED_PROTOCOL_VERSION}-${PROTOCOL_VERSION}`);
    for (let v = MIN_SUPPORTED_PROTOCOL_VERSION; v <= PROTOCOL_VERSION; v++) expect(speaksProtocol(v)).toBe(true);
    for (const v of [0, -1, PROTOCOL_VERSION + 1, 1.5, Number.MAX_SAFE_INTEGER, NaN]) {
      expect(speaksProtocol(v), String(v)).toBe(false);
    }
  });
});
