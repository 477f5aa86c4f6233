/**
 * docs/errors.md documents every error code there is, and nothing else: each code declared in
 * the catalogs has a row, each row names a declared code, and every code is spelled area.snake_case.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI_CODES } from '../../cli-flags/errors.ts';
import { CLIENT_CODES } from '../../client/error-codes.ts';
import { POLICY_CODES } from '../../policy/diagnostics.ts';
import { allCodes } from '../../protocol/coded-error.ts';
import { SERVER_CODES } from '../../server/error-codes.ts';

const catalogs = { server: SERVER_CODES, client: CLIENT_CODES, cli: CLI_CODES, policy: POLICY_CODES };
const declared = new Set(Object.values(catalogs).flatMap((c) => allCodes(c)));
const page = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const documented = [...page.matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1]!);

describe('docs/errors.md', () => {
  it('documents every declared code', () => {
    expect([...declared].filter((c) => !documented.includes(c))).toEqual([]);
  });

  it('documents only declared codes, each once', () => {
    expect(documented.filter((c) => !declared.has(c))).toEqual([]);
    expect(documented.filter((c, i) => documented.indexOf(c) !== i)).toEqual([]);
  });

  it('gives each code a meaning and what to do', () => {
    for (const row of page.split('\n').filter((l) => l.startsWith('| `'))) {
      const cells = row.split(/(?<!\\)\|/).slice(1, -1);
      expect(
        cells.map((c) => c.trim().length > 0),
        row,
      ).toEqual([true, true, true]);
    }
  });
});

describe('error codes', () => {
  it('are spelled area.snake_case, each area declaring codes of its own name', () => {
    for (const [side, catalog] of Object.entries(catalogs)) {
      for (const [area, codes] of Object.entries(catalog as Record<string, readonly string[]>)) {
        expect(area, side).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
        for (const code of codes) expect(code, side).toMatch(new RegExp(`^${area}\\.[a-z][a-z0-9]*(_[a-z0-9]+)*$`));
      }
    }
  });
});
