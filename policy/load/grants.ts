/**
 * The `grants` section read into `Rule`s, as Tailscale's control plane reads it: `ip` grants
 * packets, `app` grants capabilities, `via` names the routers that carry the destination.
 */
import type { JsonNode } from '../hujson.ts';
import type { Located, PortRange, Rule, Selector } from '../model.ts';
import {
  ALL_PORTS,
  DEFAULT_PROTOS,
  isAllPorts,
  isProtocolName,
  parsePorts,
  parseProto,
  protosHavePorts,
} from '../ports.ts';
import { parseSelector, selectorText } from '../selector.ts';
import { readCapabilities } from './capabilities.ts';
import type { LoadContext } from './context.ts';
import type { Definitions } from './definitions.ts';
import { checkSelfSources, isAutogroup, readSources, refuseDangerAll } from './sources.ts';

const GRANT_FIELDS = {
  known: ['src', 'dst', 'ip', 'app', 'via'],
  required: ['src', 'dst'],
  unsupported: {
    srcPosture: 'device posture is not implemented',
  },
} as const;

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
