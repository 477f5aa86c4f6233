/**
 * What each part of the tree may import (docs/architecture.md): the wire contract stands alone,
 * the policy library is pure, the server and the agent share only the contract, the policy
 * library and the CLI flag parser, and never import each other. Tests may import anything.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

/** Each top-level folder of ours and the folders of ours its files may import. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  protocol: [],
  policy: ['protocol'],
  'cli-flags': ['protocol'],
  server: ['protocol', 'policy', 'cli-flags'],
  client: ['protocol', 'policy', 'cli-flags'],
  // The admin console runs in the browser and speaks only the documented API: its wire types.
  console: ['protocol'],
};

/** Libraries the policy library may use: pure ones, no I/O. */
const POLICY_LIBRARIES = ['jsonc-parser', 'zod'];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? e.name === 'dist'
        ? []
        : files(join(dir, e.name))
      : /\.tsx?$/.test(e.name)
        ? [join(dir, e.name)]
        : [],
  );
}

/** Every module a file names: static, re-exported, side-effect and dynamic imports. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'([^']+)'/gm)].map((m) => m[1]!);
}

const partOf = (path: string): string => relative(root, path).split('/')[0]!;

describe('import boundaries', () => {
  it('the rule names every top-level folder of source', () => {
    const sources = readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !['node_modules', 'test', 'docs', 'deploy', 'bin'].includes(e.name))
      .filter((e) => !e.name.startsWith('.'))
      .filter((e) => files(join(root, e.name)).length > 0)
      .map((e) => e.name);
    expect(sources.sort()).toEqual(Object.keys(MAY_IMPORT).sort());
  });

  it('finds imports of every kind', () => {
    const probe = join(root, 'client/cli/main.ts');
    expect(importsOf(probe).some((s) => s.startsWith('./') && s.endsWith('.ts'))).toBe(true);
  });

  for (const [part, allowed] of Object.entries(MAY_IMPORT)) {
    describe(`${part}/`, () => {
      for (const file of files(join(root, part))) {
        it(`${relative(root, file)} imports only ${[part, ...allowed].join(', ')}/ of ours`, () => {
          for (const spec of importsOf(file)) {
            if (!spec.startsWith('.')) continue;
            const target = partOf(join(file, '..', spec));
            expect([part, ...allowed], `${spec} is in ${target}/`).toContain(target);
          }
        });
      }
    });
  }

  describe('console/ takes only types from protocol/', () => {
    for (const file of files(join(root, 'console'))) {
      it(`${relative(root, file)} imports protocol/ for its types only (nothing of ours runs in the browser)`, () => {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/^\s*import\s+(type\s+)?[^'"]*from\s+'([^']+)'/gm)) {
          if (m[2]!.startsWith('.') && partOf(join(file, '..', m[2]!)) === 'protocol') {
            expect(m[1], `${m[2]} must be imported with import type`).toBeDefined();
          }
        }
      });
    }
  });

  describe('policy/ is pure', () => {
    for (const file of files(join(root, 'policy'))) {
      it(`${relative(root, file)} uses only pure libraries and no clock, timer or process`, () => {
        for (const spec of importsOf(file).filter((s) => !s.startsWith('.'))) expect(POLICY_LIBRARIES).toContain(spec);
        expect(readFileSync(file, 'utf8')).not.toMatch(/\b(process\.|Date\.now|new Date\(|setTimeout|setInterval)/);
      });
    }
  });
});
