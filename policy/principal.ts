/**
 * Matching selectors against an identity that is not (yet) a node: a user, a tag, or an address
 * range. Embedded `tests` and `mayOwnTag`/`autoApprovedRoutes` reason at this level, where no
 * topology exists.
 */
import { parsePrefix } from '../protocol/ip/prefix.ts';
import { contains, prefixRange, type Range } from '../protocol/ip/range.ts';
import { INTERNET_PREFIXES } from './mesh.ts';
import { groupsOf } from './membership.ts';
import type { Policy, Selector } from './model.ts';

export interface Principal {
  user?: string;
  idpGroups?: string[];
  tags: string[];
  /** Every address the principal may send from or be reached at. */
  range?: Range;
  /** How to name the principal in messages. */
  label: string;
}

const internetRanges = INTERNET_PREFIXES.map((p) => {
  const r = parsePrefix(p);
  if (!r.ok) throw new TypeError(r.error.message);
  return prefixRange(r.value);
});

export function principalMatches(policy: Policy, s: Selector, p: Principal): boolean {
  const untaggedUser = p.tags.length === 0 ? p.user : undefined;
  switch (s.kind) {
    case 'any':
      return true;
    case 'prefix':
    case 'host':
      return p.range !== undefined && contains(prefixRange(s.prefix), p.range);
    case 'user':
      return untaggedUser === s.email;
    case 'group':
      return untaggedUser !== undefined && groupsOf(policy, untaggedUser, p.idpGroups).has(s.name);
    case 'tag':
      return p.tags.includes(s.name);
    case 'autogroup':
      switch (s.name) {
        case 'member':
          return untaggedUser !== undefined;
        case 'tagged':
          return p.tags.length > 0;
        case 'danger-all':
          return true;
        case 'internet':
          return p.range !== undefined && internetRanges.some((r) => contains(r, p.range as Range));
        case 'self':
          return false; // pairs a source with a destination; see `reaches`
      }
  }
}

/** The principals a test source stands for: a group means each of its members. */
export function principalsOf(policy: Policy, s: Selector): Principal[] {
  switch (s.kind) {
    case 'user':
      return [{ user: s.email, tags: [], label: s.email }];
    case 'tag':
      return [{ tags: [s.name], label: s.name }];
    case 'prefix':
    case 'host':
      return [{ tags: [], range: prefixRange(s.prefix), label: s.kind === 'host' ? s.name : s.text }];
    case 'group': {
      const out: Principal[] = [];
      const seen = new Set<string>();
      const walk = (g: string): void => {
        if (seen.has(g)) return;
        seen.add(g);
        const def = policy.groups.get(g);
        if (!def) return;
        for (const u of def.users) out.push({ user: u, tags: [], label: `${u} (in ${s.name})` });
        for (const i of def.idpGroups) {
          out.push({
            user: `member of idp:${i}`,
            idpGroups: [i],
            tags: [],
            label: `members of idp:${i} (in ${s.name})`,
          });
        }
        for (const child of def.groups) walk(child);
      };
      walk(s.name);
      return out;
    }
    default:
      return [];
  }
}
