/**
 * Selector strings (`alice@example.com`, `group:sre`, `tag:web`, `10.0.0.0/8`, `*`, ...) read
 * in the order Tailscale recognizes them: IP or CIDR, `*`, user (has `@`), `group:`, `tag:`,
 * `autogroup:`, and otherwise a `hosts` alias.
 */
import type { DiagnosticCode } from './diagnostics.ts';
import { parsePrefix } from '../protocol/ip/prefix.ts';
import type { Autogroup, HostDefinition, Selector } from './model.ts';

export interface SelectorScope {
  groups: ReadonlySet<string> | ReadonlyMap<string, unknown>;
  tags: ReadonlySet<string> | ReadonlyMap<string, unknown>;
  hosts: ReadonlyMap<string, Pick<HostDefinition, 'text' | 'prefix'>>;
}

type SelectorResult = { ok: true; selector: Selector } | { ok: false; code: DiagnosticCode; message: string };

const AUTOGROUPS: readonly Autogroup[] = ['member', 'tagged', 'self', 'internet', 'danger-all'];
/** Tailscale autogroups that name roles or SSH users, which Trellis does not model. */
const UNSUPPORTED_AUTOGROUPS = new Set([
  'admin',
  'owner',
  'it-admin',
  'network-admin',
  'billing-admin',
  'auditor',
  'shared',
  'nonroot',
]);

const TAG_NAME = /^tag:[A-Za-z][A-Za-z0-9-]*$/;
const GROUP_NAME = /^group:[A-Za-z0-9][A-Za-z0-9._-]*$/;
const USER = /^[^@\s]+@[^@\s]+$/;
/** Host aliases may not look like any other kind of selector. */
export const HOST_NAME = /^[a-z0-9][a-z0-9._-]*$/;

export function isTagName(s: string): boolean {
  return TAG_NAME.test(s);
}

export function isGroupName(s: string): boolean {
  return GROUP_NAME.test(s);
}

export function isUser(s: string): boolean {
  return USER.test(s);
}

/** What a selector reads as an address (a host name must not look like one: it would never be looked up). */
export function looksLikeAddress(s: string): boolean {
  return /^[0-9a-fA-F:.]+(\/[0-9]*)?$/.test(s) && (/^[0-9]/.test(s) || s.includes(':'));
}

function has(scope: SelectorScope['groups'], key: string): boolean {
  return scope.has(key);
}

export function parseSelector(text: string, scope: SelectorScope): SelectorResult {
  if (text === '') return { ok: false, code: 'policy.invalid_selector', message: 'empty selector' };
  if (text === '*') return { ok: true, selector: { kind: 'any' } };
  if (looksLikeAddress(text) && !text.includes('@')) {
    const p = parsePrefix(text);
    if (!p.ok) return { ok: false, code: 'policy.invalid_prefix', message: p.error.message };
    return { ok: true, selector: { kind: 'prefix', text, prefix: p.value } };
  }
  if (text.includes('@')) {
    if (!USER.test(text))
      return { ok: false, code: 'policy.invalid_selector', message: `"${text}" is not a user: write name@domain` };
    return { ok: true, selector: { kind: 'user', email: text } };
  }
  if (text.startsWith('group:')) {
    if (!GROUP_NAME.test(text))
      return { ok: false, code: 'policy.invalid_name', message: `"${text}" is not a valid group name` };
    if (!has(scope.groups, text))
      return { ok: false, code: 'policy.unknown_group', message: `group "${text}" is not defined in groups` };
    return { ok: true, selector: { kind: 'group', name: text } };
  }
  if (text.startsWith('tag:')) {
    if (!TAG_NAME.test(text)) {
      return {
        ok: false,
        code: 'policy.invalid_name',
        message: `"${text}" is not a valid tag name: a letter, then letters, digits or "-"`,
      };
    }
    if (!has(scope.tags, text))
      return { ok: false, code: 'policy.unknown_tag', message: `tag "${text}" has no owner: declare it in tagOwners` };
    return { ok: true, selector: { kind: 'tag', name: text } };
  }
  if (text.startsWith('autogroup:')) {
    const name = text.slice('autogroup:'.length);
    if ((AUTOGROUPS as readonly string[]).includes(name))
      return { ok: true, selector: { kind: 'autogroup', name: name as Autogroup } };
    if (UNSUPPORTED_AUTOGROUPS.has(name)) {
      return {
        ok: false,
        code: 'policy.invalid_selector',
        message: `"${text}" is a Tailscale autogroup that Trellis does not support`,
      };
    }
    return {
      ok: false,
      code: 'policy.invalid_selector',
      message: `unknown autogroup "${text}": use autogroup:member, :tagged, :self, :internet or :danger-all`,
    };
  }
  const host = scope.hosts.get(text);
  if (host) return { ok: true, selector: { kind: 'host', name: text, text: host.text, prefix: host.prefix } };
  return {
    ok: false,
    code: 'policy.unknown_host',
    message: `"${text}" is not an IP, a CIDR, a user, a group, a tag, an autogroup or a host defined in hosts`,
  };
}

/** The selector as written in a policy. */
export function selectorText(s: Selector): string {
  switch (s.kind) {
    case 'any':
      return '*';
    case 'prefix':
      return s.text;
    case 'host':
      return s.name;
    case 'user':
      return s.email;
    case 'group':
      return s.name;
    case 'tag':
      return s.name;
    case 'autogroup':
      return `autogroup:${s.name}`;
  }
}
