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
  isProtocolName,
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
  known: ['src', 'dst', 'ip', 'app', 'via'],
  required: ['src', 'dst'],
  unsupported: {
    srcPosture: 'device posture is not implemented',
  },
} as const;

type Source = Located<Selector> & { node: JsonNode };

/**
 * Sources that autogroup:self can serve: identities that have a user. ACLs also take `*`, which
 * each user's devices narrow to themselves; grants refuse it, as Tailscale does, since `*` holds
 * tagged nodes that no user's self can pair with.
 */
function isUserSource(s: Selector, origin: Rule['origin']): boolean {
  if (s.kind === 'any') return origin === 'acl';
  return s.kind === 'user' || s.kind === 'group' || (s.kind === 'autogroup' && s.name === 'member');
}

const isAutogroup = (s: Selector, name: string): boolean => s.kind === 'autogroup' && s.name === name;

/** autogroup:danger-all is every address there is: Tailscale takes it as a source only. */
function refuseDangerAll(ctx: LoadContext, what: string, s: Selector, node: JsonNode): boolean {
  if (!isAutogroup(s, 'danger-all')) return false;
  ctx.report(
    'policy.danger_all_destination',
    `${what} dst: autogroup:danger-all cannot be a destination: write * for every node, or autogroup:internet for the internet through exit nodes`,
    node,
  );
  return true;
}

function readSources(ctx: LoadContext, node: JsonNode, what: string, defs: Definitions): Source[] {
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
function checkSelfSources(ctx: LoadContext, what: string, origin: Rule['origin'], src: Source[]): void {
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
  const portText = colon < 0 ? '*' : text.slice(colon + 1);
  if (isProtocolName(portText)) {
    return {
      ok: false,
      message: `"${portText}" is a protocol, not a port: give each protocol its own entry ("${text.slice(0, colon)}", "${portText}") or write ${text.slice(0, colon)}:PORTS`,
    };
  }
  const ports = parsePorts(portText);
  if (!ports.ok) return ports;
  if (!protosHavePorts([proto.value]) && !isAllPorts(ports.value)) {
    return { ok: false, message: `protocol ${proto.value} has no ports: write ${text.slice(0, colon)}:*` };
  }
  return { ok: true, protos: [proto.value], ports: ports.value };
}

/** Capability names in Tailscale's own domain, which only its control plane may define. */
function isTailscaleCapability(name: string): boolean {
  const domain = name.slice(0, name.indexOf('/'));
  return domain === 'tailscale.com' || domain.endsWith('.tailscale.com');
}

/** Trellis's names for the Tailscale capabilities it implements itself. */
const TRELLIS_EQUIVALENT: Readonly<Record<string, string>> = {
  'tailscale.com/cap/kubernetes': 'trellis.dev/cap/kubernetes',
};

function readCapabilities(ctx: LoadContext, what: string, app: JsonNode): Record<string, unknown[]> {
  const caps: Record<string, unknown[]> = {};
  for (const { name, key, value } of ctx.entries(app, `${what} app`)) {
    if (!/^[a-z0-9.-]+\/[A-Za-z0-9._/-]+$/.test(name)) {
      ctx.report('policy.invalid_name', `${what} app: "${name}" is not a capability name: write DOMAIN/NAME`, key);
      continue;
    }
    if (isTailscaleCapability(name)) {
      const instead = TRELLIS_EQUIVALENT[name];
      ctx.report(
        'policy.reserved_capability',
        `${what} app: "${name}" is in Tailscale's own domain, which policies may not name: ${instead ? `Trellis's capability is ${instead}` : 'name your capabilities in a domain of your own (example.com/cap/NAME)'}`,
        key,
      );
      continue;
    }
    if (!ctx.isArray(value, `${what} app "${name}"`)) continue;
    caps[name] = (value.children ?? []).map((c) => jsonValue(c));
  }
  return caps;
}

/** `0.0.0.0/0` or `::/0`: a grant that means every address says so with `*` or autogroup:internet. */
function isWholeRange(s: Selector): boolean {
  return (s.kind === 'prefix' || s.kind === 'host') && s.prefix.bits === 0;
}

function readGrantDestinations(
  ctx: LoadContext,
  what: string,
  node: JsonNode,
  defs: Definitions,
): Array<Located<Selector>> {
  const out: Array<Located<Selector>> = [];
  for (const d of ctx.strings(node, `${what} "dst"`)) {
    const sel = parseSelector(d.value, defs);
    if (!sel.ok) {
      const hint =
        d.value.split(':').length > 2 || /:[0-9*]+$/.test(d.value) ? ' (grants name ports in "ip", not in "dst")' : '';
      ctx.report(sel.code, `${what} dst: ${sel.message}${hint}`, d.node);
      continue;
    }
    if (refuseDangerAll(ctx, what, sel.selector, d.node)) continue;
    if (isWholeRange(sel.selector)) {
      ctx.report(
        'policy.whole_range_destination',
        `${what} dst: "${d.value}" is every address: to allow all of the mesh use "*", to allow the internet through exit nodes use "autogroup:internet"`,
        d.node,
      );
      continue;
    }
    out.push({ value: sel.selector, at: d.at });
  }
  return out;
}

/** The `ip` entries, one rule's worth per protocol set so that each keeps its own ports. */
function readNetworkAccess(
  ctx: LoadContext,
  what: string,
  ip: JsonNode,
): Array<{ protos: number[]; ports: PortRange[] }> {
  const byProto = new Map<string, { protos: number[]; ports: PortRange[] }>();
  for (const e of ctx.strings(ip, `${what} "ip"`)) {
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
  return [...byProto.values()];
}

/** A field with content: a non-empty list or object (one of the wrong type is reported as that). */
function given(n: JsonNode | undefined): boolean {
  if (n === undefined) return false;
  return n.type === 'array' || n.type === 'object' ? (n.children?.length ?? 0) > 0 : true;
}

/**
 * Grants, as Tailscale's control plane reads them: `ip` grants packets, `app` grants capabilities
 * (which also make the two sides peers); a grant must have one of them, not empty.
 */
export function loadGrants(ctx: LoadContext, section: JsonNode, defs: Definitions, rules: Rule[]): void {
  if (!ctx.isArray(section, 'grants')) return;
  (section.children ?? []).forEach((entry, i) => {
    const what = `grants[${i}]`;
    if (!ctx.isObject(entry, what)) return;
    const f = ctx.fields(entry, what, GRANT_FIELDS);
    const ip = f.get('ip');
    const app = f.get('app');
    if (!given(ip?.value) && !given(app?.value)) {
      ctx.report(
        'policy.empty_grant',
        `${what}: ip and app can not both be empty: give "ip" (network access), "app" (capabilities) or both`,
        entry,
      );
    }
    const srcField = f.get('src');
    const src = srcField ? readSources(ctx, srcField.value, what, defs) : [];
    const dstField = f.get('dst');
    const dsts = dstField ? readGrantDestinations(ctx, what, dstField.value, defs) : [];
    const self = dsts.filter((d) => isAutogroup(d.value, 'self'));
    const others = dsts.filter((d) => !isAutogroup(d.value, 'self'));
    if (self.length > 0) checkSelfSources(ctx, what, 'grant', src);
    const viaField = f.get('via');
    const via = viaField ? readVia(ctx, what, viaField.value, defs, dsts) : [];
    const at = ctx.at(entry);
    const push = (protos: number[], ports: PortRange[], app?: Record<string, unknown[]>) => {
      for (const group of [others, self]) {
        if (group.length === 0) continue;
        const dst = group.map((selector) => ({ selector, ports }));
        rules.push({
          index: rules.length,
          origin: 'grant',
          at,
          src,
          dst,
          protos,
          ...(app ? { app } : {}),
          ...(via.length > 0 && { via }),
        });
      }
    };
    if (ip) for (const { protos, ports } of readNetworkAccess(ctx, what, ip.value)) push(protos, ports);
    if (app && ctx.isObject(app.value, `${what} app`)) {
      const internet = dsts.find((d) => isAutogroup(d.value, 'internet'));
      if (internet && dstField) {
        ctx.report(
          'policy.app_internet',
          `${what}: cannot use app grants with autogroup:internet: capabilities are held towards nodes, not the internet`,
          dstField.value,
        );
      }
      const caps = readCapabilities(ctx, what, app.value);
      if (Object.keys(caps).length > 0) push([...DEFAULT_PROTOS], [], caps);
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

/**
 * A grant's `via`, as Tailscale reads it: tags only (a router is named by what it is, never by
 * a person's device), and only for destinations that routers carry (addresses, prefixes, hosts,
 * autogroup:internet). An empty list is no via at all.
 */
function readVia(
  ctx: LoadContext,
  what: string,
  node: JsonNode,
  defs: Definitions,
  dsts: ReadonlyArray<Located<Selector>>,
): string[] {
  if (node.type === 'null') return [];
  const tags: string[] = [];
  for (const e of ctx.strings(node, `${what} "via"`)) {
    const r = parseSelector(e.value, defs);
    if (!r.ok) {
      ctx.report(r.code, `${what} via: ${r.message}`, e.node);
      continue;
    }
    if (r.selector.kind !== 'tag') {
      ctx.report(
        'policy.invalid_via',
        `${what} via: "${e.value}" is not a tag: via names routers by their tags`,
        e.node,
      );
      continue;
    }
    tags.push(r.selector.name);
  }
  if (tags.length === 0) return [];
  for (const d of dsts) {
    const s = d.value;
    if (s.kind === 'prefix' || s.kind === 'host' || isAutogroup(s, 'internet')) continue;
    ctx.report(
      'policy.via_destination',
      `${what} dst "${selectorText(s)}": a grant with via reaches only what routers carry: addresses, prefixes, hosts or autogroup:internet`,
      node,
    );
  }
  return [...new Set(tags)].sort();
}
