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

/**
 * `--server` given once or more, each a URL or a comma list of them: the replicas of one server
 * (duplicates dropped, order kept: the agent starts with the first). Empty when none was given.
 */
export function serverUrls(flag: string, values: readonly string[]): string[] {
  const urls = values.flatMap((v) => splitList(v)).map((v) => serverUrl(flag, v));
  if (urls.length > 16) throw new UsageError('cli.bad_value', `--${flag}: at most 16 replicas, not ${urls.length}`);
  return [...new Set(urls)];
}

/** The local API's server fields for a list of replicas: the first, and all when there are several. */
export function serverFields(urls: readonly string[]): { serverUrl?: string; serverUrls?: string[] } {
  if (urls.length === 0) return {};
  return { serverUrl: urls[0]!, ...(urls.length > 1 && { serverUrls: [...urls] }) };
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
