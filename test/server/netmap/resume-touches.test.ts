import { describe, expect, it } from 'vitest';
import { resumeTouches } from '../../../server/netmap/resume-touches.ts';

const NOW = 1_800_000_000_000;
const WINDOW = 600_000;
const recent = (over: Partial<Parameters<typeof resumeTouches>[2]> = {}) => ({
  localChangeAt: new Map<string, number>(),
  expiredAt: new Map<string, number>(),
  identityChangedAt: new Map<string, number>(),
  now: NOW,
  windowMs: WINDOW,
  ...over,
});

describe('what a resume from another replica sends again', () => {
  it('resends the nodes the log names, those whose presence changed here lately, and those that expired lately', () => {
    const t = resumeTouches('self', new Set(['logged']), {
      ...recent(),
      localChangeAt: new Map([
        ['came-online-here', NOW - 1_000],
        ['long-ago', NOW - 3_600_000],
      ]),
      expiredAt: new Map([
        ['expired', NOW - 1_000],
        ['expired-long-ago', NOW - 2 * WINDOW],
      ]),
    })!;
    expect(['logged', 'came-online-here', 'expired'].every((id) => t.has(id))).toBe(true);
    expect(['long-ago', 'expired-long-ago', 'untouched'].some((id) => t.has(id))).toBe(false);
  });

  it('offers for removal only what the log names or what expired: who a node sees does not follow presence', () => {
    // A failover: thousands of nodes came online here lately, none of them is to be "removed".
    const localChangeAt = new Map(Array.from({ length: 5_000 }, (_, i) => [`online-${i}`, NOW - 10] as const));
    const t = resumeTouches('self', new Set(['deleted', 'retagged']), {
      ...recent(),
      localChangeAt,
      expiredAt: new Map([
        ['expired', NOW - 1_000],
        ['deleted', NOW - 1_000],
      ]),
    })!;
    expect([...t.removable()].sort()).toEqual(['deleted', 'expired', 'retagged']);
    expect(t.has('online-4999')).toBe(true);
  });

  it('gives up on a resume (a full map) when the journal cannot tell, or the node itself changed identity lately', () => {
    expect(resumeTouches('self', undefined, recent())).toBeUndefined();
    expect(
      resumeTouches('self', new Set(), recent({ identityChangedAt: new Map([['self', NOW - 1_000]]) })),
    ).toBeUndefined();
    expect(
      resumeTouches('self', new Set(), recent({ identityChangedAt: new Map([['self', NOW - 2 * WINDOW]]) })),
    ).toBeDefined();
  });
});
