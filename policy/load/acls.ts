/** The `acls` section read into `Rule`s: the legacy, Tailscale-compatible form of access rules. */
import type { JsonNode } from '../hujson.ts';
import type { Rule, RuleDestination } from '../model.ts';
import {
  DEFAULT_PROTOS,
  isAllPorts,
  isProtocolName,
  parsePorts,
  parseProto,
  protosHavePorts,
  splitDestination,
} from '../ports.ts';
import { parseSelector } from '../selector.ts';
import type { LoadContext } from './context.ts';
import type { Definitions } from './definitions.ts';
import { checkSelfSources, readSources, refuseDangerAll } from './sources.ts';

const ACL_FIELDS = {
  known: ['action', 'src', 'proto', 'dst'],
  required: ['action', 'src', 'dst'],
  unsupported: {
    srcPosture: 'device posture is not implemented',
    users: 'this is the legacy name of "src"; rename it',
    ports: 'this is the legacy name of "dst"; rename it',
  },
} as const;

export function loadAcls(ctx: LoadContext, section: JsonNode, defs: Definitions, rules: Rule[]): void {
  if (!ctx.isArray(section, 'acls')) return;
  (section.children ?? []).forEach((entry, i) => {
    const what = `acls[${i}]`;
    if (!ctx.isObject(entry, what)) return;
    const f = ctx.fields(entry, what, ACL_FIELDS);
    const action = f.get('action');
    if (action) {
      const a = ctx.string(action.value, `${what} action`);
      if (a && a.value !== 'accept') {
        ctx.report(
          'policy.invalid_action',
          `${what}: action "${a.value}" is not supported: rules only accept, and everything not accepted is denied`,
          action.value,
        );
      }
    }
    let protos: number[] = [...DEFAULT_PROTOS];
    let named = false;
    const proto = f.get('proto');
    if (proto) {
      const p = ctx.string(proto.value, `${what} proto`);
      if (p) {
        const r = parseProto(p.value);
        if (r.ok) {
          protos = [r.value];
          named = true;
        } else ctx.report('policy.invalid_proto', `${what}: ${r.message}`, proto.value);
      }
    }
    const srcField = f.get('src');
    const src = srcField ? readSources(ctx, srcField.value, what, defs) : [];
    const dst: RuleDestination[] = [];
    const selfDst: RuleDestination[] = [];
    const dstField = f.get('dst');
    for (const d of dstField ? ctx.strings(dstField.value, `${what} "dst"`) : []) {
      const split = splitDestination(d.value);
      if (!split.ok) {
        ctx.report('policy.invalid_ports', `${what} dst: ${split.message}`, d.node);
        continue;
      }
      if (isProtocolName(split.value.ports)) {
        ctx.report(
          'policy.invalid_ports',
          `${what} dst "${d.value}": "${split.value.ports}" is a protocol, not a port: name it in "proto" and write ${split.value.alias}:* or ${split.value.alias}:PORT`,
          d.node,
        );
        continue;
      }
      const ports = parsePorts(split.value.ports);
      if (!ports.ok) {
        ctx.report('policy.invalid_ports', `${what} dst "${d.value}": ${ports.message}`, d.node);
        continue;
      }
      if (named && !protosHavePorts(protos) && !isAllPorts(ports.value)) {
        ctx.report(
          'policy.invalid_ports',
          `${what} dst "${d.value}": protocol "${proto?.value.value}" has no ports: write ${split.value.alias}:*`,
          d.node,
        );
        continue;
      }
      const sel = parseSelector(split.value.alias, defs);
      if (!sel.ok) {
        ctx.report(sel.code, `${what} dst: ${sel.message}`, d.node);
        continue;
      }
      if (refuseDangerAll(ctx, what, sel.selector, d.node)) continue;
      const target = sel.selector.kind === 'autogroup' && sel.selector.name === 'self' ? selfDst : dst;
      target.push({ selector: { value: sel.selector, at: d.at }, ports: ports.value });
    }
    if (selfDst.length > 0) checkSelfSources(ctx, what, 'acl', src);
    const at = ctx.at(entry);
    // A rule with autogroup:self is split so that the pairing applies only to those destinations.
    if (dst.length > 0) rules.push({ index: rules.length, origin: 'acl', at, src, dst, protos });
    if (selfDst.length > 0) rules.push({ index: rules.length, origin: 'acl', at, src, dst: selfDst, protos });
  });
}
