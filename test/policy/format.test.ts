/** formatPolicy gives every policy one layout, keeps comments, and never changes meaning. */
import { describe, expect, it } from 'vitest';
import { formatPolicy, parsePolicy } from '../../policy/index.ts';

const messy = `{"groups":{"group:a":["a@example.com",],}, // people
  "acls":[ /* all */ {"action":"accept","src":["group:a"],"dst":["*:*"]}]}`;

describe('formatPolicy', () => {
  it('indents by two spaces, keeps comments and ends with one newline', () => {
    const out = formatPolicy(messy);
    expect(out).toContain('\n  "groups": {\n    "group:a": [\n      "a@example.com",');
    expect(out).toContain('// people');
    expect(out).toContain('/* all */');
    expect(out.endsWith('}\n')).toBe(true);
  });

  it('is idempotent and preserves the parsed policy', () => {
    const once = formatPolicy(messy);
    expect(formatPolicy(once)).toBe(once);
    const rules = (t: string) =>
      parsePolicy(t).policy?.rules.map((r) => [
        r.src.map((s) => s.value),
        r.dst.map((d) => [d.selector.value, d.ports]),
      ]);
    expect(rules(once)).toEqual(rules(messy));
  });
});
