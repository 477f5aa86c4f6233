/**
 * `autoApprovers`: which identities may have advertised routes and exit nodes approved without
 * an administrator.
 */
import type { JsonNode } from '../hujson.ts';
import { parsePrefix } from '../../protocol/ip/prefix.ts';
import type { AutoApprovers, Located, Selector } from '../model.ts';
import { parseSelector } from '../selector.ts';
import type { LoadContext } from './context.ts';
import type { Definitions } from './definitions.ts';

function approvers(ctx: LoadContext, node: JsonNode, what: string, defs: Definitions): Array<Located<Selector>> {
  const out: Array<Located<Selector>> = [];
  for (const e of ctx.strings(node, what)) {
    const r = parseSelector(e.value, defs);
    if (!r.ok) {
      ctx.report(r.code, `${what}: ${r.message}`, e.node);
      continue;
    }
    const k = r.selector.kind;
    if (
      k === 'user' ||
      k === 'group' ||
      k === 'tag' ||
      (k === 'autogroup' && (r.selector.name === 'member' || r.selector.name === 'tagged'))
    ) {
      out.push({ value: r.selector, at: e.at });
    } else {
      ctx.report(
        'policy.invalid_selector',
        `${what}: "${e.value}" cannot approve routes: use users, groups, tags, autogroup:member or autogroup:tagged`,
        e.node,
      );
    }
  }
  return out;
}

export function loadAutoApprovers(ctx: LoadContext, section: JsonNode, defs: Definitions): AutoApprovers {
  const out: AutoApprovers = { routes: [], exitNode: [] };
  if (!ctx.isObject(section, 'autoApprovers')) return out;
  const f = ctx.fields(section, 'autoApprovers', { known: ['routes', 'exitNode'] });
  const routes = f.get('routes');
  if (routes && ctx.isObject(routes.value, 'autoApprovers.routes')) {
    for (const { name, key, value } of ctx.entries(routes.value, 'autoApprovers.routes')) {
      const p = parsePrefix(name);
      if (!p.ok) {
        ctx.report('policy.invalid_prefix', `autoApprovers.routes: ${p.error.message}`, key);
        continue;
      }
      out.routes.push({
        text: name,
        prefix: p.value,
        at: ctx.at(key),
        approvers: approvers(ctx, value, `autoApprovers.routes["${name}"]`, defs),
      });
    }
  }
  const exit = f.get('exitNode');
  if (exit) out.exitNode = approvers(ctx, exit.value, 'autoApprovers.exitNode', defs);
  return out;
}
