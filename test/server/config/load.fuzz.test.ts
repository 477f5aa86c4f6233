import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../server/config/errors.ts';
import { CONFIG_KEYS, loadConfig, type ConfigSources } from '../../../server/config/load.ts';
import { ServerConfig } from '../../../server/config/schema.ts';
import { fuzz, mutatedText, outcome } from '../../support/fuzz.ts';

/**
 * Whatever the file, environment and flags hold, loading gives a valid config or a ConfigError
 * naming the key and where it came from; never a crash or a plain Error.
 */
describe('config loading under arbitrary sources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-config-fuzz-'));
  const file = join(dir, 'config.yaml');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const key = fc.constantFrom(...CONFIG_KEYS);
  const value = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.integer().map(String),
    fc.constantFrom('', '0', '-1', '65536', '8080', 'a,b', '10.0.0.0/8', 'http://x', ' 1 ', '1e3'),
  );
  const anyValue = fc.oneof(value, fc.integer(), fc.boolean(), fc.constant(null), fc.array(value, { maxLength: 3 }));
  const nested = (k: string, v: unknown): Record<string, unknown> =>
    k.split('.').reduceRight<Record<string, unknown>>((acc, part) => ({ [part]: acc }), v as never);
  const validYaml = fc
    .array(fc.tuple(fc.oneof(key, fc.string({ maxLength: 8 })), anyValue), { maxLength: 4 })
    .map((entries) => stringify(Object.assign({}, ...entries.map(([k, v]) => nested(k, v)))));
  const yamlText = fc.oneof(validYaml, mutatedText(validYaml), fc.string({ maxLength: 64 }), fc.json().map(String));
  const envName = (k: string) =>
    `TRELLIS_${k
      .split('.')
      .map((p) => p.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase())
      .join('_')}`;
  const env = fc.dictionary(
    fc.oneof(
      key.map(envName),
      fc.string({ maxLength: 10 }).map((s) => `TRELLIS_${s}`),
    ),
    value,
    { maxKeys: 4 },
  );
  const flags = fc.dictionary(fc.oneof(key, fc.string({ maxLength: 10 })), value, { maxKeys: 3 });

  it('gives a valid config or a ConfigError naming the key and its source', () => {
    fuzz(
      fc.property(fc.option(yamlText, { nil: undefined }), env, flags, (text, envMap, flagMap) => {
        const sources: ConfigSources = { env: envMap, flags: flagMap };
        if (text !== undefined) {
          writeFileSync(file, text);
          sources.file = file;
        }
        const result = outcome(() => loadConfig(sources), 'config');
        if ('value' in result) {
          expect(ServerConfig.safeParse(result.value).success).toBe(true);
          return;
        }
        expect(result.error).toBeInstanceOf(ConfigError);
        const { code, message } = result.error as ConfigError;
        if (code === 'config.invalid') {
          for (const line of message.split('\n').slice(1))
            expect(line).toMatch(/^ {2}(unknown key \S|\S* ?\(from .+\): )/);
        }
        if (code === 'config.unknown_flag') expect(message).toMatch(/^unknown flag --/);
        if (code === 'config.bad_yaml') expect(message.startsWith(file)).toBe(true);
      }),
      // An empty or blank YAML key once made a message naming no key.
      {
        runs: 150,
        examples: [
          ['"": []\n', {}, {}],
          ['" ": []\n', {}, {}],
        ],
      },
    );
  });
});
