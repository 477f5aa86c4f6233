/**
 * Rule sources, shared by `acls` and `grants`: selectors resolved against the definitions, with
 * the limits autogroups have as sources, and autogroup:self's demands on the sources it pairs.
 */
import type { JsonNode } from '../hujson.ts';
import type { Located, Rule, Selector } from '../model.ts';
import { parseSelector, selectorText } from '../selector.ts';
import type { LoadContext } from './context.ts';
import type { Definitions } from './definitions.ts';

export type Source = Located<Selector> & { node: JsonNode };

/**
 * Sources that autogroup:self can serve: identities that have a user. ACLs also take `*`, which
 * each user's devices narrow to themselves; grants refuse it, as Tailscale does, since `*` holds
 * tagged nodes that no user's self can pair with.
 */
function isUserSource(s: Selector, origin: Rule['origin']): boolean {
  if (s.kind === 'any') return origin === 'acl';
  return s.kind === 'user' || s.kind === 'group' || (s.kind === 'autogroup' && s.name === 'member');
}

export const isAutogroup = (s: Selector, name: string): boolean => s.kind === 'autogroup' && s.name === name;

/** autogroup:danger-all is every address there is: Tailscale takes it as a source only. */
export function refuseDangerAll(ctx: LoadContext, what: string, s: Selector, node: JsonNode): boolean {
  if (!isAutogroup(s, 'danger-all')) return false;
  ctx.report(
    'policy.danger_all_destination',
    `${what} dst: autogroup:danger-all cannot be a destination: write * for every node, or autogroup:internet for the internet through exit nodes`,
    node,
  );
  return true;
}

export function readSources(ctx: LoadContext, node: JsonNode, what: string, defs: Definitions): Source[] {
  const out: Source[] = [];
  for (const entry of ctx.strings(node, `${what} "src"`)) {
    const r = parseSelector(entry.value, defs);
    if (!r.ok) {
      ctx.report(r.code, `${what} src: ${r.message}`, entry.node);
      continue;
    }
    const s = r.selector;
    if (s.kind === 'autogroup' && (s.name === 'self' || s.name === 'internet')) {
      ctx.report('policy.self_source', `${what} src: "autogroup:${s.name}" is only valid as a destination`, entry.node);
      continue;
    }
    out.push({ value: s, at: entry.at, node: entry.node });
  }
  return out;
}

/** autogroup:self pairs each user's devices, so its sources must be identities with users. */
export function checkSelfSources(ctx: LoadContext, what: string, origin: Rule['origin'], src: Source[]): void {
  const allowed = origin === 'acl' ? 'users, groups, autogroup:member or *' : 'users, groups or autogroup:member';
  for (const s of src) {
    if (isUserSource(s.value, origin)) continue;
    ctx.report(
      'policy.self_mixed_source',
      `${what}: autogroup:self can only be used with ${allowed} as sources, and "${selectorText(s.value)}" is none of these`,
      s.node,
    );
  }
}
