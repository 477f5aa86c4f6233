/**
 * The access sections, `acls` and `grants`, read into `Rule`s. Selectors are resolved against
 * the definitions; the side-specific limits of autogroups are checked here.
 */
import type { JsonNode } from '../hujson.ts';
import type { Located, PortRange, Rule, RuleDestination, Selector } from '../model.ts';
import {
  ALL_PORTS,
  DEFAULT_PROTOS,
  isAllPorts,
  parsePorts,
  parseProto,
  protosHavePorts,
  splitDestination,
} from '../ports.ts';
import { parseSelector, selectorText } from '../selector.ts';
import type { LoadContext } from './context.ts';
import type { Definitions } from './definitions.ts';

const ACL_FIELDS = {
  known: ['action', 'src', 'proto', 'dst'],
  required: ['action', 'src', 'dst'],
  unsupported: {
    srcPosture: 'device posture is not implemented',
    users: 'this is the legacy name of "src"; rename it',
    ports: 'this is the legacy name of "dst"; rename it',
  },
} as const;

const GRANT_FIELDS = {
  known: ['src', 'dst', 'ip', 'app'],
  required: ['src', 'dst'],
  unsupported: {
    via: 'routing through named subnet routers is not implemented',
    srcPosture: 'device posture is not implemented',
  },
} as const;

/** Sources that autogroup:self can be combined with: identities that have a user. */
function isUserSource(s: Selector): boolean {
  return s.kind === 'any' || s.kind === 'user' || s.kind === 'group' || (s.kind === 'autogroup' && s.name === 'member');
}

function readSources(ctx: LoadContext, node: JsonNode, what: string, defs: Definitions): Array<Located<Selector>> {
  const out: Array<Located<Selector>> = [];
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
    out.push({ value: s, at: entry.at });
  }
  return out;
}

/** autogroup:self pairs each user's devices, so its sources must be identities with users. */
function checkSelfSources(ctx: LoadContext, what: string, src: Array<Located<Selector>>, srcNodes: JsonNode[]): void {
  src.forEach((s, i) => {
    if (isUserSource(s.value)) return;
    const node = srcNodes[i];
    if (node) {
      ctx.report(
        'policy.self_mixed_source',
        `${what}: autogroup:self can only be used with users, groups, autogroup:member or * as sources, and "${selectorText(s.value)}" is none of these`,
        node,
      );
    }
  });
}

function srcNodesOf(node: JsonNode | undefined): JsonNode[] {
  return node?.type === 'array' ? (node.children ?? []) : [];
}

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
      const target = sel.selector.kind === 'autogroup' && sel.selector.name === 'self' ? selfDst : dst;
      target.push({ selector: { value: sel.selector, at: d.at }, ports: ports.value });
    }
    if (selfDst.length > 0) checkSelfSources(ctx, `${what}`, src, srcNodesOf(srcField?.value));
    const at = ctx.at(entry);
    // A rule with autogroup:self is split so that the pairing applies only to those destinations.
    if (dst.length > 0) rules.push({ index: rules.length, origin: 'acl', at, src, dst, protos });
    if (selfDst.length > 0) rules.push({ index: rules.length, origin: 'acl', at, src, dst: selfDst, protos });
  });
}

/** `*`, `PORTS`, `PROTO` or `PROTO:PORTS`. */
function parseIpEntry(
  text: string,
): { ok: true; protos: number[]; ports: PortRange[] } | { ok: false; message: string } {
  if (text === '*') return { ok: true, protos: [...DEFAULT_PROTOS], ports: [ALL_PORTS] };
  const colon = text.indexOf(':');
  if (colon < 0 && /^[0-9]/.test(text)) {
    const ports = parsePorts(text);
    return ports.ok ? { ok: true, protos: [...DEFAULT_PROTOS], ports: ports.value } : ports;
  }
  const proto = parseProto(colon < 0 ? text : text.slice(0, colon));
  if (!proto.ok) return proto;
  const ports = parsePorts(colon < 0 ? '*' : text.slice(colon + 1));
  if (!ports.ok) return ports;
  if (!protosHavePorts([proto.value]) && !isAllPorts(ports.value)) {
    return { ok: false, message: `protocol ${proto.value} has no ports: write ${text.slice(0, colon)}:*` };
  }
  return { ok: true, protos: [proto.value], ports: ports.value };
}

export function loadGrants(ctx: LoadContext, section: JsonNode, defs: Definitions, rules: Rule[]): void {
  if (!ctx.isArray(section, 'grants')) return;
  (section.children ?? []).forEach((entry, i) => {
    const what = `grants[${i}]`;
    if (!ctx.isObject(entry, what)) return;
    const f = ctx.fields(entry, what, GRANT_FIELDS);
    if (!f.has('ip') && !f.has('app')) ctx.report('policy.missing_field', `${what} needs "ip", "app" or both`, entry);
    const srcField = f.get('src');
    const src = srcField ? readSources(ctx, srcField.value, what, defs) : [];
    const dsts: Array<Located<Selector>> = [];
    const dstField = f.get('dst');
    for (const d of dstField ? ctx.strings(dstField.value, `${what} "dst"`) : []) {
      const sel = parseSelector(d.value, defs);
      if (!sel.ok) {
        const hint =
          d.value.split(':').length > 2 || /:[0-9*]+$/.test(d.value)
            ? ' (grants name ports in "ip", not in "dst")'
            : '';
        ctx.report(sel.code, `${what} dst: ${sel.message}${hint}`, d.node);
        continue;
      }
      dsts.push({ value: sel.selector, at: d.at });
    }
    const hasSelf = dsts.some((d) => d.value.kind === 'autogroup' && d.value.name === 'self');
    if (hasSelf) checkSelfSources(ctx, what, src, srcNodesOf(srcField?.value));
    const at = ctx.at(entry);
    const self = dsts.filter((d) => d.value.kind === 'autogroup' && d.value.name === 'self');
    const others = dsts.filter((d) => !(d.value.kind === 'autogroup' && d.value.name === 'self'));
    const push = (protos: number[], ports: PortRange[], app?: Record<string, unknown[]>) => {
      for (const group of [others, self]) {
        if (group.length === 0) continue;
        const dst = group.map((selector) => ({ selector, ports }));
        rules.push({ index: rules.length, origin: 'grant', at, src, dst, protos, ...(app ? { app } : {}) });
      }
    };
    const ip = f.get('ip');
    if (ip) {
      // One rule per protocol set, so each keeps its own ports.
      const byProto = new Map<string, { protos: number[]; ports: PortRange[] }>();
      for (const e of ctx.strings(ip.value, `${what} "ip"`)) {
        const r = parseIpEntry(e.value);
        if (!r.ok) {
          ctx.report('policy.invalid_ports', `${what} ip "${e.value}": ${r.message}`, e.node);
          continue;
        }
        const key = r.protos.join(',');
        const slot = byProto.get(key) ?? { protos: r.protos, ports: [] };
        slot.ports.push(...r.ports);
        byProto.set(key, slot);
      }
      for (const { protos, ports } of byProto.values()) push(protos, ports);
    }
    const app = f.get('app');
    if (app && ctx.isObject(app.value, `${what} app`)) {
      const caps: Record<string, unknown[]> = {};
      for (const { name, value } of ctx.entries(app.value, `${what} app`)) {
        if (!/^[a-z0-9.-]+\/[A-Za-z0-9._/-]+$/.test(name)) {
          ctx.report(
            'policy.invalid_name',
            `${what} app: "${name}" is not a capability name: write DOMAIN/NAME`,
            value,
          );
          continue;
        }
        if (!ctx.isArray(value, `${what} app "${name}"`)) continue;
        caps[name] = (value.children ?? []).map((c) => jsonValue(c));
      }
      push([...DEFAULT_PROTOS], [], caps);
    }
  });
}

function jsonValue(node: JsonNode): unknown {
  switch (node.type) {
    case 'object':
      return Object.fromEntries(
        (node.children ?? []).map((p) => [String(p.children?.[0]?.value), jsonValue(p.children?.[1] as JsonNode)]),
      );
    case 'array':
      return (node.children ?? []).map(jsonValue);
    default:
      return node.value;
  }
}
