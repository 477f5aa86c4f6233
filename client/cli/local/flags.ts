/**
 * Checks of the node commands' values (`agent`, `up`, `ping`, `whois`, ...) beyond what the flag
 * parser (cli-flags/) knows: URLs, prefixes, tags, names. Each names the flag and the value.
 */
import { isIP } from 'node:net';
import { UsageError } from '../../../cli-flags/index.ts';
import { CliError } from '../policy/io.ts';
import { isPrefix } from '../../netconf/prefix.ts';

export { CliError };

// ---- value checks: each returns the value in canonical form or throws a UsageError ----

export function serverUrl(flag: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError('cli.bad_value', `--${flag}: "${value}" is not a URL (e.g. https://trellis.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError('cli.bad_value', `--${flag}: "${value}" must be an http:// or https:// URL`);
  if (url.username || url.password)
    throw new UsageError('cli.bad_value', `--${flag}: the URL must not carry a user or password`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

export function cidrList(flag: string, value: string): string[] {
  const list = splitList(value);
  for (const c of list) {
    if (!isPrefix(c, { bareAddress: false }))
      throw new UsageError(
        'cli.bad_value',
        `--${flag}: "${c}" is not a CIDR prefix with host bits clear (e.g. 10.1.0.0/16)`,
      );
  }
  return list;
}

const TAG = /^tag:[A-Za-z][A-Za-z0-9-]*$/;

export function tagList(flag: string, value: string): string[] {
  const list = splitList(value);
  for (const t of list)
    if (!TAG.test(t))
      throw new UsageError(
        'cli.bad_value',
        `--${flag}: "${t}" is not a tag (tag:name, a letter then letters, digits and -)`,
      );
  return list;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function hostname(flag: string, value: string): string {
  if (!HOSTNAME.test(value))
    throw new UsageError(
      'cli.bad_value',
      `--${flag}: "${value}" must be a DNS label (letters, digits and -, at most 63)`,
    );
  return value;
}

export function ifaceName(flag: string, value: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(value))
    throw new UsageError('cli.bad_value', `--${flag}: "${value}" must be 1-15 of letters, digits, _ . -`);
  return value;
}

export function ipAddress(what: string, value: string): string {
  if (isIP(value) === 0) throw new UsageError('cli.bad_value', `${what}: "${value}" is not an IPv4 or IPv6 address`);
  return value;
}

export function oneOf<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value))
    throw new UsageError('cli.bad_value', `--${flag}: "${value}" must be one of ${choices.join(', ')}`);
  return value as T;
}

function splitList(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return [...new Set(list)];
}
