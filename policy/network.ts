/**
 * PolicyNetwork: the compiled policy over the live set of nodes, kept up to date one change at
 * a time. The server calls `upsertNode`/`removeNode` on every join, leave or identity change and
 * reads `peersOf`/`filterOf` for the nodes these return; work is proportional to the rules that
 * name the changed node's identities, never to all pairs of nodes.
 */
import type { FilterRule } from '../protocol/filter.ts';
import { formatPrefixOrHost, parsePrefix } from '../protocol/ip/prefix.ts';
import { overlaps, prefixRange } from '../protocol/ip/range.ts';
import { type CompiledPolicy, type CompiledRule, compilePolicy } from './compiled.ts';
import type { FilterTemplate } from './filter-template.ts';
import { Interner } from './intern.ts';
import { DEFAULT_MESH, type MeshRanges, meshPrefixes } from './mesh.ts';
import type { Policy } from './model.ts';
import { NetworkState } from './network-state.ts';
import type { PolicyNode } from './node.ts';

export interface NetworkOptions {
  /** The mesh's address ranges (what `*` means as a source); Tailscale's by default. */
  mesh?: MeshRanges;
}

export class PolicyNetwork {
  private state: NetworkState;
  private readonly mesh: string[];
  private readonly peerLists: Interner<readonly string[]>;

  /** `base` (for `withPolicy`): start from its nodes, sharing its index, instead of from none. */
  constructor(policy: Policy, options: NetworkOptions = {}, base?: PolicyNetwork) {
    this.mesh = base?.mesh ?? meshPrefixes(options.mesh ?? DEFAULT_MESH);
    this.peerLists = base?.peerLists ?? new Interner<readonly string[]>();
    const compiled = compilePolicy(policy);
    this.state = base ? base.derive(compiled) : new NetworkState(compiled, this.mesh, undefined, this.peerLists);
  }

  /**
   * This network's nodes under another policy, as a network of its own (this one is unchanged,
   * and neither may change while the other is read): what a diff compares. It shares the node
   * index where it can, as `setPolicy` does, instead of indexing every node again.
   */
  withPolicy(policy: Policy): PolicyNetwork {
    return new PolicyNetwork(policy, {}, this);
  }

  get policy(): Policy {
    return this.state.compiled.policy;
  }

  /** Adds many nodes at once (a server starting from its database); returns nothing to send. */
  loadNodes(nodes: Iterable<PolicyNode>): void {
    this.state.load(nodes);
  }

  /** Adds or replaces a node; returns the ids whose peers or filter may have changed, its own included. */
  upsertNode(node: PolicyNode): Set<string> {
    return this.state.upsert(node);
  }

  /** Removes a node; returns the ids whose peers or filter may have changed. */
  removeNode(id: string): Set<string> {
    return this.state.remove(id);
  }

  /**
   * Replaces the policy; returns the ids whose peers or filter actually changed. With
   * `exact: false` it returns the cheaper superset of nodes that may have changed, for a
   * caller that compares each node's new view with what it last sent anyway.
   */
  setPolicy(policy: Policy, options: { exact?: boolean } = {}): Set<string> {
    const old = this.state;
    const next = this.derive(compilePolicy(policy));
    const maybe = candidates(old, next);
    const changed = options.exact === false ? maybe : new Set([...maybe].filter((id) => !sameView(old, next, id)));
    this.state = next;
    return changed;
  }

  /** A state over this one's nodes under `compiled`. */
  private derive(compiled: CompiledPolicy): NetworkState {
    const old = this.state;
    // Same key basis: every node keeps its keys, so the node index carries over as it is.
    const sameKeys = compiled.keyBasis === old.compiled.keyBasis;
    const next = new NetworkState(compiled, this.mesh, sameKeys ? old.nodeIndex : undefined, this.peerLists);
    if (sameKeys) next.inheritSources(old);
    else next.load([...old.nodes.values()].map((e) => e.node));
    return next;
  }

  /** The mesh's own address ranges (network.ipv4Prefix, ipv6Prefix). */
  meshRanges(): readonly string[] {
    return this.mesh;
  }

  node(id: string): PolicyNode | undefined {
    return this.state.entry(id)?.node;
  }

  nodes(): PolicyNode[] {
    return [...this.state.nodes.values()].map((e) => e.node);
  }

  /** Ids of the nodes `id` may see, sorted. */
  peersOf(id: string): string[] {
    return this.state.peersOf(id);
  }

  /**
   * The peers of every node with `id`'s keys, `id` itself possibly among them (skip it): what
   * `peersOf` copies. One object for equal lists, across policy changes, while anyone holds it.
   */
  peerGroupOf(id: string): readonly string[] {
    return this.state.peerGroupOf(id);
  }

  /** The inbound packet filter of node `id`. */
  filterOf(id: string): FilterRule[] {
    return this.state.filterOf(id);
  }

  /**
   * Node `id`'s filter as a template shared by the nodes with the same identity keys, and the
   * node's own addresses: `expandTemplate(template, own)` equals `filterOf(id)`.
   */
  filterTemplateOf(id: string): { template: FilterTemplate; own: readonly string[] } {
    return this.state.filterTemplateOf(id);
  }

  /**
   * Node `id`'s approved routes, subnet and exit: approved by an administrator or by the
   * policy's autoApprovers. Routes it does not advertise are left out: approving does not route.
   */
  approvedRoutesOf(id: string): { subnet: readonly string[]; exit: readonly string[] } {
    const e = this.state.entry(id);
    if (!e) return { subnet: [], exit: [] };
    const advertised = new Set(e.node.routableIPs);
    return {
      subnet: e.keys.subnetRoutes.filter((r) => advertised.has(r)),
      exit: e.keys.exitRoutes.filter((r) => advertised.has(r)),
    };
  }

  /**
   * Whether node `viewer` may send internet traffic through exit node `exit`: `exit` is an
   * approved exit node and a rule with `autogroup:internet` among its destinations has `viewer`
   * among its sources.
   */
  mayUseExitNode(viewer: string, exit: string): boolean {
    const v = this.state.entry(viewer);
    const e = this.state.entry(exit);
    if (!v || !e || !e.keys.exitNode || viewer === exit) return false;
    return this.state
      .rulesReaching(exit)
      .some((r) => r.dsts.some((d) => d.kind === 'internet') && r.srcKeys.some((k) => v.keys.src.has(k)));
  }

  /**
   * The grants with `via` that node `viewer` is a source of, as what they steer: each subnet
   * destination (prefix text) and the tags of the routers it must be reached through. Exit
   * traffic needs nothing here: a via grant to autogroup:internet reaches only the named exit
   * nodes, so `mayUseExitNode` already says which.
   */
  viaOf(viewer: string): Array<{ prefix: string; tags: readonly string[] }> {
    const v = this.state.entry(viewer);
    if (!v || this.state.compiled.viaTags.size === 0) return [];
    const out: Array<{ prefix: string; tags: readonly string[] }> = [];
    for (const r of this.state.compiled.rules) {
      if (!r.rule.via || !r.srcKeys.some((k) => v.keys.src.has(k))) continue;
      for (const d of r.rule.dst) {
        const s = d.selector.value;
        if (s.kind === 'prefix' || s.kind === 'host')
          out.push({ prefix: formatPrefixOrHost(s.prefix), tags: r.rule.via });
      }
    }
    return out;
  }

  /**
   * Whether traffic may flow either way between node `viewer` and subnet route `route` of
   * router `router`: a rule the router receives has the viewer among its sources and a
   * destination covering part of the route (`*` included), or a rule the viewer receives has
   * the route among its sources (`*` counts approved routes). Tailscale sends a route only to
   * such viewers, as it makes peers only of nodes that may talk.
   */
  routeConcerns(viewer: string, router: string, route: string): boolean {
    const v = this.state.entry(viewer);
    const parsed = parsePrefix(route);
    if (!v || !parsed.ok) return false;
    const range = prefixRange(parsed.value);
    const covers = (text: string) => {
      const p = parsePrefix(text);
      return p.ok && overlaps(prefixRange(p.value), range);
    };
    const fromRoute = this.state
      .rulesReaching(viewer)
      .some((r) => !r.self && (r.srcAll || r.srcAny || r.srcPrefixes.some(covers)));
    return (
      fromRoute ||
      this.state.rulesReaching(router).some(
        (r) =>
          r.srcKeys.some((k) => v.keys.src.has(k)) &&
          r.dsts.some((d) => {
            if (d.kind === 'any') return true;
            return d.kind === 'prefix' && d.prefix !== undefined && covers(d.prefix);
          }),
      )
    );
  }

  /** The distinct router tag sets that grants' `via` name, each sorted. */
  viaTagSets(): Array<readonly string[]> {
    const seen = new Map<string, readonly string[]>();
    for (const r of this.state.compiled.rules) if (r.rule.via) seen.set(r.rule.via.join(','), r.rule.via);
    return [...seen.values()];
  }

  /** The application capabilities that callers are granted on node `id`. */
  capGrantsOf(id: string): FilterRule[] {
    return this.state.filterOf(id).filter((r) => r.capGrant !== undefined);
  }

  /** For evaluate/explain: the internal state. */
  get internal(): NetworkState {
    return this.state;
  }
}

/** Ids of the nodes whose peers or filter differ between two networks over the same nodes. */
export function changedViews(a: PolicyNetwork, b: PolicyNetwork): Set<string> {
  const { candidates, changed } = viewCandidates(a, b);
  return new Set(candidates.filter(changed));
}

/**
 * The nodes whose view may differ (sorted by id), and the test of whether one's does: for a
 * reader that needs only the first few changed views, comparing a view costs far more than
 * finding the candidates.
 */
export function viewCandidates(
  a: PolicyNetwork,
  b: PolicyNetwork,
): { candidates: string[]; changed(id: string): boolean } {
  return {
    candidates: [...candidates(a.internal, b.internal)].sort(),
    changed: (id) => !sameView(a.internal, b.internal, id),
  };
}

function signature(r: CompiledRule): string {
  return JSON.stringify([
    [...r.srcKeys].sort(),
    [...r.srcPrefixes].sort(),
    r.srcAny,
    r.srcAll,
    r.self,
    r.dsts.map((d) => [d.key, d.ports]),
    r.rule.protos,
    r.app ?? null,
  ]);
}

function signatures(c: CompiledPolicy): Map<string, CompiledRule[]> {
  const out = new Map<string, CompiledRule[]>();
  for (const r of c.rules) {
    const sig = signature(r);
    const list = out.get(sig);
    if (list) list.push(r);
    else out.set(sig, [r]);
  }
  return out;
}

/** Nodes whose view may differ between two states over the same nodes. */
function candidates(old: NetworkState, next: NetworkState): Set<string> {
  const out = new Set<string>();
  const before = signatures(old.compiled);
  const after = signatures(next.compiled);
  for (const [sig, rules] of before) {
    if ((after.get(sig)?.length ?? 0) !== rules.length) for (const r of rules) old.addMembersOf(r, out);
  }
  for (const [sig, rules] of after) {
    if ((before.get(sig)?.length ?? 0) !== rules.length) for (const r of rules) next.addMembersOf(r, out);
  }
  // Over one shared index no node's keys differ.
  if (old.nodeIndex === next.nodeIndex) return out;
  for (const [id, e] of next.nodes) {
    const o = old.entry(id);
    if (!o) continue;
    const changedKeys = new Set<string>();
    for (const side of ['src', 'dst'] as const) {
      for (const k of e.keys[side]) if (!o.keys[side].has(k)) changedKeys.add(k);
      for (const k of o.keys[side]) if (!e.keys[side].has(k)) changedKeys.add(k);
    }
    if (changedKeys.size === 0) continue;
    out.add(id);
    for (const [state, c] of [
      [old, old.compiled],
      [next, next.compiled],
    ] as const) {
      for (const k of changedKeys) {
        for (const r of [...(c.srcRulesByKey.get(k) ?? []), ...(c.dstRulesByKey.get(k) ?? [])])
          state.addMembersOf(r, out);
      }
    }
  }
  return out;
}

function canonicalFilter(rules: FilterRule[]): string {
  return JSON.stringify(rules.map((r) => JSON.stringify(r)).sort());
}

function sameView(old: NetworkState, next: NetworkState, id: string): boolean {
  const a = old.peersOf(id);
  const b = next.peersOf(id);
  if (a.length !== b.length || a.some((p, i) => p !== b[i])) return false;
  return canonicalFilter(old.filterOf(id)) === canonicalFilter(next.filterOf(id));
}
