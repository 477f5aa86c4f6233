/**
 * Flags of the node commands (`agent`, `up`, `down`, `status`, `ping`, `whois`): parsed against
 * a spec, each value checked where it enters, with a message naming the flag and the value.
 */
import { isIP } from 'node:net';
import { CliError } from '../policy/io.ts';
import { isPrefix } from '../../netconf/prefix.ts';

export { CliError };

export interface FlagSpec {
  /** Flags that take a value. */
  values: readonly string[];
  /** Flags that take none. */
  switches?: readonly string[];
  /** How many positional arguments are allowed (default 0). */
  positional?: { min: number; max: number; names: string };
}

export interface Parsed {
  positional: string[];
  values: Map<string, string>;
  switches: Set<string>;
}

export function parseFlags(argv: readonly string[], spec: FlagSpec, usage: string): Parsed {
  const parsed: Parsed = { positional: [], values: new Map(), switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') throw new CliError(usage, 0);
    if (!arg.startsWith('-') || arg === '-') {
      parsed.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.replace(/^--?/, '').slice(0, eq < 0 ? undefined : eq - (arg.startsWith('--') ? 2 : 1));
    if (spec.switches?.includes(name)) {
      if (eq >= 0) throw new CliError(`--${name} takes no value\n${usage}`, 2);
      parsed.switches.add(name);
      continue;
    }
    if (!spec.values.includes(name))
      throw new CliError(`unknown option ${arg.slice(0, eq < 0 ? undefined : eq)}\n${usage}`, 2);
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--')))
      throw new CliError(`--${name} needs a value\n${usage}`, 2);
    if (parsed.values.has(name)) throw new CliError(`--${name} given twice`, 2);
    parsed.values.set(name, value);
  }
  const { min, max, names } = spec.positional ?? { min: 0, max: 0, names: '' };
  if (parsed.positional.length < min) throw new CliError(`missing ${names}\n${usage}`, 2);
  if (parsed.positional.length > max)
    throw new CliError(`unexpected argument "${parsed.positional[max]}"\n${usage}`, 2);
  return parsed;
}

// ---- value checks: each returns the value in canonical form or throws a CliError ----

export function serverUrl(flag: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`--${flag}: "${value}" is not a URL (e.g. https://trellis.example.com)`, 2);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError(`--${flag}: "${value}" must be an http:// or https:// URL`, 2);
  if (url.username || url.password) throw new CliError(`--${flag}: the URL must not carry a user or password`, 2);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

export function port(flag: string, value: string, min = 1): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) < min || Number(value) > 65535)
    throw new CliError(`--${flag}: "${value}" must be a port number ${min}-65535`, 2);
  return Number(value);
}

export function positiveInt(flag: string, value: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max)
    throw new CliError(`--${flag}: "${value}" must be a whole number 1-${max}`, 2);
  return Number(value);
}

export function seconds(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0 || n > max)
    throw new CliError(`--${flag}: "${value}" must be seconds, more than 0 and at most ${max}`, 2);
  return n;
}

export function cidrList(flag: string, value: string): string[] {
  const list = splitList(value);
  for (const c of list) {
    if (!isPrefix(c, { bareAddress: false }))
      throw new CliError(`--${flag}: "${c}" is not a CIDR prefix with host bits clear (e.g. 10.1.0.0/16)`, 2);
  }
  return list;
}

const TAG = /^tag:[A-Za-z][A-Za-z0-9-]*$/;

export function tagList(flag: string, value: string): string[] {
  const list = splitList(value);
  for (const t of list)
    if (!TAG.test(t))
      throw new CliError(`--${flag}: "${t}" is not a tag (tag:name, a letter then letters, digits and -)`, 2);
  return list;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function hostname(flag: string, value: string): string {
  if (!HOSTNAME.test(value))
    throw new CliError(`--${flag}: "${value}" must be a DNS label (letters, digits and -, at most 63)`, 2);
  return value;
}

export function ifaceName(flag: string, value: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(value))
    throw new CliError(`--${flag}: "${value}" must be 1-15 of letters, digits, _ . -`, 2);
  return value;
}

export function ipAddress(what: string, value: string): string {
  if (isIP(value) === 0) throw new CliError(`${what}: "${value}" is not an IPv4 or IPv6 address`, 2);
  return value;
}

export function oneOf<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value))
    throw new CliError(`--${flag}: "${value}" must be one of ${choices.join(', ')}`, 2);
  return value as T;
}

function splitList(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return [...new Set(list)];
}
