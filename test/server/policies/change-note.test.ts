import { describe, expect, it } from 'vitest';
import { MAX_LINES, changeNote } from '../../../server/policies/change-note.ts';

const change = (i: number) => ({ src: `n${i}`, dst: 'db', protos: 'tcp', ports: '5432' });

describe('the audit note of a policy change', () => {
  it('counts what was granted and revoked when the diff is whole', () => {
    expect(changeNote(3, 4, { granted: [change(1)], revoked: [] })).toBe(
      'policy version 3 -> 4: 1 granted, 0 revoked\n+ n1 -> db 5432 (tcp)',
    );
  });

  it('says there were more than it shows, and where to get them all, when the diff was cut short', () => {
    const granted = Array.from({ length: MAX_LINES + 5 }, (_, i) => change(i));
    const note = changeNote(3, 4, { granted, revoked: [] }, false).split('\n');
    expect(note[0]).toBe(
      `policy version 3 -> 4: more than ${MAX_LINES} access changes, the first below; POST /api/v1/policy/diff {from: 3, to: 4} lists them all`,
    );
    expect(note).toHaveLength(MAX_LINES + 2);
    expect(note.at(-1)).toBe('...');
  });
});
