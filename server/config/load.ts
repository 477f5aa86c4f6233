import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { ServerConfig } from './schema.ts';

/**
 * Config comes from a YAML file, then environment variables, then flags; later sources win.
 * Every key has one dotted name (`listen.port`), spelt `TRELLIS_LISTEN_PORT` in the
 * environment and `--listen.port` (or `--listen-port`) as a flag.
 */
export interface ConfigSources {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, string>;
}

type Leaf = { path: string[]; kind: 'number' | 'boolean' | 'string' | 'list' };

const LEAVES: Leaf[] = leavesOf(ServerConfig.parse({}), []).concat([
  { path: ['publicUrl'], kind: 'string' },
  { path: ['replica', 'advertise'], kind: 'string' },
  { path: ['store', 'url'], kind: 'string' },
  { path: ['store', 'tls', 'ca'], kind: 'string' },
  { path: ['relay', 'publicHost'], kind: 'string' },
  { path: ['relay', 'linkSecret'], kind: 'string' },
]);

export const CONFIG_KEYS: readonly string[] = LEAVES.map((l) => l.path.join('.'));

export function loadConfig(sources: ConfigSources): ServerConfig {
  const raw: Record<string, unknown> = sources.file ? readYaml(sources.file) : {};
  const origin = new Map<string, string>();
  for (const leaf of LEAVES) {
    const key = leaf.path.join('.');
    const envName = `TRELLIS_${leaf.path.map(snake).join('_')}`;
    const envValue = sources.env?.[envName];
    if (envValue !== undefined && envValue !== '') {
      setPath(raw, leaf.path, coerce(envValue, leaf));
      origin.set(key, `environment variable ${envName}`);
    }
  }
  for (const [flag, value] of Object.entries(sources.flags ?? {})) {
    const leaf = LEAVES.find((l) => l.path.join('.') === flag || l.path.map(kebab).join('-') === flag);
    if (!leaf) {
      throw new ConfigError(
        'config.unknown_flag',
        `unknown flag --${flag}; known: ${CONFIG_KEYS.map((k) => `--${k}`).join(', ')}`,
      );
    }
    setPath(raw, leaf.path, coerce(value, leaf));
    origin.set(leaf.path.join('.'), `flag --${flag}`);
  }
  const parsed = ServerConfig.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => describeIssue(issue, origin, sources.file));
    throw new ConfigError('config.invalid', `invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}

function describeIssue(issue: z.core.$ZodIssue, origin: Map<string, string>, file?: string): string {
  const key = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    // A key that is empty or has spaces or odd characters (`" ": 1` in YAML) would vanish or blur in the message: quote it.
    const keys = issue.keys
      .map((k) => (key ? `${key}.` : '') + (/^[\w-]+$/.test(k) ? k : JSON.stringify(k)))
      .join(', ');
    return `unknown key ${keys}${file ? ` in ${file}` : ''}`;
  }
  // A list's element came with the list: look up the nearest key that a source set.
  let from: string | undefined;
  for (let n = issue.path.length; n > 0 && from === undefined; n--) from = origin.get(issue.path.slice(0, n).join('.'));
  from ??= file ? `${file}` : 'defaults';
  return `${key} (from ${from}): ${issue.message}`;
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('config.unreadable', `cannot read config file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError('config.bad_yaml', `${file}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError('config.bad_yaml', `${file}: the top level must be a mapping of keys`);
  }
  return doc as Record<string, unknown>;
}

function leavesOf(obj: Record<string, unknown>, prefix: string[]): Leaf[] {
  return Object.entries(obj).flatMap(([k, v]): Leaf[] => {
    const path = [...prefix, k];
    if (Array.isArray(v)) return [{ path, kind: 'list' }];
    if (v !== null && typeof v === 'object') return leavesOf(v as Record<string, unknown>, path);
    return [{ path, kind: typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string' }];
  });
}

function coerce(value: string, leaf: Leaf): unknown {
  if (leaf.kind === 'list')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (leaf.kind === 'number') return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (leaf.kind === 'boolean') return ({ true: true, false: false } as Record<string, boolean>)[value.trim()] ?? value;
  return value;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

const snake = (s: string) =>
  s
    .replace(/[A-Z]/g, (c) => `_${c}`)
    .replace(/-/g, '_')
    .toUpperCase();
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
