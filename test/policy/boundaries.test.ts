/** policy/ is a pure library: it imports only protocol/ and libraries, and touches no I/O. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../policy');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('policy/ import boundary', () => {
  for (const file of files(root)) {
    it(`${relative(root, file)} imports only policy/, protocol/ and pure libraries`, () => {
      const imports = [...readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1] as string);
      for (const spec of imports) {
        if (spec.startsWith('.')) {
          const target = relative(join(root, '..'), join(file, '..', spec));
          expect(target.startsWith('policy/') || target.startsWith('protocol/'), `${spec}`).toBe(true);
        } else {
          expect(['jsonc-parser', 'zod']).toContain(spec);
        }
      }
      expect(readFileSync(file, 'utf8')).not.toMatch(/\b(process\.|Date\.now|new Date\(|setTimeout|setInterval)/);
    });
  }
});
