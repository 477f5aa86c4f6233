/**
 * The compiled state of one policy over a set of nodes: who holds each identity key, and each
 * node's peers and filter, computed when first asked and forgotten when a change may touch them.
 *
 * A change to node N:
 *   1. computes N's keys and compares them with its previous keys;
 *   2. updates the key -> nodes indexes;
 *   3. for each key that changed, visits only the rules naming that key, and marks the nodes on
 *      the other side of those rules (their peers or sources may change) as affected;
 *   4. forgets the cached views of the affected nodes and returns them.
 */
import type { FilterRule } from '../protocol/filter.ts';
import { ANY, type CompiledPolicy, type CompiledRule } from './compiled.ts';
import { expandTemplate, templateDestinations, type FilterTemplate, type TemplateRule } from './filter-template.ts';
import { Interner } from './intern.ts';
import { fingerprint, NodeIndex, type Members, type NodeEntry } from './node-index.ts';
import { selfSourceNodes, visibleTo } from './peer-groups.ts';
import { type NodeKeys, nodeKeys } from './node-keys.ts';
import type { PolicyNode } from './node.ts';

/** Binary search in a sorted list of ids. */
function sortedHas(list: readonly string[], id: string): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = list[mid] as string;
    if (v === id) return true;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

export class NetworkState {
  private anySources: string[] | undefined;
  /** Source lists by `CompiledRule.srcSpec`: rules with the same sources share one list. */
  private readonly ruleSources = new Map<string, string[]>();
  private readonly selfSources = new Map<string, Map<number, string[]>>();
  private readonly filters = new Map<string, FilterRule[]>();
  private readonly peers = new Map<string, string[]>();
  /** Peers shared by all nodes with one key signature (each node then leaves itself out). */
  private readonly peersBySignature = new Map<string, readonly string[]>();
  /** Peer lists of the state this one replaced over the same index: candidates to reuse (compared first). */
  private previousPeers: ReadonlyMap<string, readonly string[]> | undefined;
  /** Filters shared by all nodes with one key signature, their own addresses left out. */
  private readonly templates = new Map<string, FilterTemplate>();

  constructor(
    readonly compiled: CompiledPolicy,
    private readonly mesh: readonly string[],
    readonly nodeIndex = new NodeIndex(),
    /** Shared peer lists by content, across the states of one network. */
    private readonly peerLists = new Interner<readonly string[]>(),
  ) {}

  get nodes(): Map<string, NodeEntry> {
    return this.nodeIndex.nodes;
  }

  /** Adds nodes without working out who is affected: for building a state from scratch. */
  load(nodes: Iterable<PolicyNode>): void {
    for (const node of nodes) {
      const old = this.nodes.get(node.id);
      if (old) this.nodeIndex.unindex(old);
      const entry: NodeEntry = {
        node,
        slot: old?.slot ?? this.nodeIndex.takeSlot(),
        keys: nodeKeys(this.compiled, node),
        fingerprint: fingerprint(node),
      };
      this.nodes.set(node.id, entry);
      this.nodeIndex.index(entry);
    }
    this.forgetAll();
  }

  upsert(node: PolicyNode): Set<string> {
    const old = this.nodes.get(node.id);
    const print = fingerprint(node);
    if (old && old.fingerprint === print) {
      old.node = node; // a new name does not change any view
      return new Set([node.id]);
    }
    if (old) this.nodeIndex.unindex(old);
    const entry: NodeEntry = {
      node,
      slot: old?.slot ?? this.nodeIndex.takeSlot(),
      keys: nodeKeys(this.compiled, node),
      fingerprint: print,
    };
    this.nodes.set(node.id, entry);
    this.nodeIndex.index(entry);
    return this.invalidate(node.id, old?.keys, entry.keys);
  }

  remove(id: string): Set<string> {
    const old = this.nodes.get(id);
    if (!old) return new Set();
    this.nodeIndex.unindex(old);
    this.nodes.delete(id);
    this.nodeIndex.releaseSlot(old.slot);
    return this.invalidate(id, old.keys, undefined);
  }

  /**
   * Keeps the source lists `old` computed over the same node index, for the rules of this policy
   * with the same sources: they are still exact, and the same lists keep their serialized form.
   */
  inheritSources(old: NetworkState): void {
    if (old.nodeIndex !== this.nodeIndex) return;
    this.anySources = old.anySources;
    this.previousPeers = old.peersBySignature;
    for (const r of this.compiled.rules) {
      const list = old.ruleSources.get(r.srcSpec);
      if (list) this.ruleSources.set(r.srcSpec, list);
    }
  }

  entry(id: string): NodeEntry | undefined {
    return this.nodes.get(id);
  }

  private forgetAll(): void {
    this.anySources = undefined;
    this.ruleSources.clear();
    this.selfSources.clear();
    this.filters.clear();
    this.peers.clear();
    this.peersBySignature.clear();
    this.templates.clear();
  }

  /** Steps 3 and 4: who may see a different view after node `id` went from `was` to `now`. */
  private invalidate(id: string, was: NodeKeys | undefined, now: NodeKeys | undefined): Set<string> {
    const affected = new Set<string>([id]);
    let everyone = false;
    const addAll = (): void => {
      if (everyone) return;
      everyone = true;
      for (const n of this.nodes.keys()) affected.add(n);
    };
    const addMembers = (index: Members, keys: readonly string[]): void => {
      for (const k of keys) {
        if (everyone) return;
        if (k === ANY) {
          addAll();
          return;
        }
        for (const n of index.get(k) ?? []) affected.add(n.node.id);
      }
    };
    const changed = (side: 'src' | 'dst'): Set<string> => {
      const before = was?.[side] ?? new Set<string>();
      const after = now?.[side] ?? new Set<string>();
      const out = new Set<string>();
      const moved = !was || !now || was.addresses.join() !== now.addresses.join();
      for (const k of before) if (!after.has(k) || (moved && k !== ANY && !k.startsWith('p:'))) out.add(k);
      for (const k of after) if (!before.has(k) || (moved && k !== ANY && !k.startsWith('p:'))) out.add(k);
      if (!was || !now) out.add(ANY);
      return out;
    };
    const users = new Set([was?.selfUser, now?.selfUser].filter((u): u is string => u !== undefined));
    const rules = this.compiled;
    for (const k of changed('src')) {
      for (const r of rules.srcRulesByKey.get(k) ?? []) {
        if (r.self) continue;
        if (r.srcIdentityKeys.includes(k)) this.ruleSources.delete(r.srcSpec);
        addMembers(this.nodeIndex.dstMembers, r.dstKeys);
      }
    }
    for (const k of changed('dst')) {
      for (const r of rules.dstRulesByKey.get(k) ?? []) addMembers(this.nodeIndex.srcMembers, r.srcKeys);
    }
    if (was?.subnetRoutes.join() !== now?.subnetRoutes.join()) {
      this.anySources = undefined;
      for (const r of rules.srcRulesByKey.get(ANY) ?? []) {
        if (!r.srcAny || r.self) continue;
        this.ruleSources.delete(r.srcSpec);
        addMembers(this.nodeIndex.dstMembers, r.dstKeys);
      }
    }
    if (rules.selfRules.length > 0) {
      for (const u of users) {
        this.selfSources.delete(u);
        for (const n of this.nodeIndex.devicesOfUser.get(u) ?? []) affected.add(n.node.id);
      }
    }
    if (was) this.forgetSignature(was.signature);
    for (const n of affected) {
      this.filters.delete(n);
      this.peers.delete(n);
      const e = this.nodes.get(n);
      if (e) this.forgetSignature(e.keys.signature);
    }
    return affected;
  }

  private forgetSignature(signature: string): void {
    this.peersBySignature.delete(signature);
    this.templates.delete(signature);
  }

  /** `*` as a source: the mesh ranges and every approved subnet route. */
  private anySourceList(): string[] {
    this.anySources ??= [...this.mesh, ...[...this.nodeIndex.subnetRouteRefs.keys()].sort()];
    return this.anySources;
  }

  sourcesOf(r: CompiledRule): string[] {
    const cached = this.ruleSources.get(r.srcSpec);
    if (cached) return cached;
    let out: string[];
    if (r.srcAll) out = ['0.0.0.0/0', '::/0'];
    else {
      const set = new Set<string>(r.srcAny ? this.anySourceList() : []);
      for (const p of r.srcPrefixes) set.add(p);
      // Node addresses are unique per node: mark nodes (by slot) instead of hashing addresses.
      const epoch = ++this.nodeIndex.epoch;
      const marks = this.nodeIndex.marks;
      const addresses: string[] = [];
      for (const k of r.srcIdentityKeys) {
        for (const m of this.nodeIndex.srcMembers.get(k) ?? []) {
          if (marks[m.slot] === epoch) continue;
          marks[m.slot] = epoch;
          for (const a of m.keys.addresses) if (set.size === 0 || !set.has(a)) addresses.push(a);
        }
      }
      out = set.size === 0 ? addresses : [...set, ...addresses];
      out.sort(); // stable output whatever order nodes joined in
    }
    this.ruleSources.set(r.srcSpec, out);
    return out;
  }

  private selfSourcesOf(r: CompiledRule, user: string): string[] {
    let byRule = this.selfSources.get(user);
    if (!byRule) {
      byRule = new Map();
      this.selfSources.set(user, byRule);
    }
    let out = byRule.get(r.id);
    if (!out) {
      out = selfSourceNodes(r, user, this.nodeIndex)
        .flatMap((e) => e.keys.addresses)
        .sort();
      byRule.set(r.id, out);
    }
    return out;
  }

  /** The rules that have node `id` among their destinations, in policy order. */
  rulesReaching(id: string): CompiledRule[] {
    const e = this.nodes.get(id);
    if (!e) return [];
    const found = new Set<CompiledRule>();
    for (const k of e.keys.dst) for (const r of this.compiled.dstRulesByKey.get(k) ?? []) found.add(r);
    if (e.keys.selfUser) for (const r of this.compiled.selfRules) found.add(r);
    return [...found].sort((a, b) => a.id - b.id);
  }

  /** Sources of rule `r` as seen by node `e` (self rules: only the same user's devices). */
  sourcesFor(r: CompiledRule, e: NodeEntry): string[] {
    if (!r.self) return this.sourcesOf(r);
    return e.keys.selfUser ? this.selfSourcesOf(r, e.keys.selfUser) : [];
  }

  /**
   * Node `id`'s filter as a template shared by every node with the same keys, and the node's own
   * addresses that fill it: `expandTemplate(template, own)` is its filter.
   */
  filterTemplateOf(id: string): { template: FilterTemplate; own: readonly string[] } {
    const e = this.nodes.get(id);
    if (!e) return { template: [], own: [] };
    let template = this.templates.get(e.keys.signature);
    if (!template) {
      const rules: TemplateRule[] = [];
      for (const r of this.rulesReaching(id)) {
        const srcIPs = this.sourcesFor(r, e);
        // A capability grant whose sources match nobody yet is still sent (as Tailscale does).
        if (srcIPs.length === 0 && !(r.app && !r.self && r.rule.src.length > 0)) continue;
        const dsts = templateDestinations(r, e.keys);
        if (dsts.length === 0) continue;
        rules.push({ srcIPs, dsts, ipProto: r.rule.protos, ...(r.app ? { app: r.app } : {}) });
      }
      template = rules;
      this.templates.set(e.keys.signature, template);
    }
    return { template, own: e.keys.addresses };
  }

  filterOf(id: string): FilterRule[] {
    const cached = this.filters.get(id);
    if (cached) return cached;
    if (!this.nodes.has(id)) return [];
    const { template, own } = this.filterTemplateOf(id);
    const out = expandTemplate(template, own);
    this.filters.set(id, out);
    return out;
  }

  /** Every node on either side of rule `r`; for a self rule, every user device. */
  addMembersOf(r: CompiledRule, into: Set<string>): void {
    const add = (index: Members, keys: readonly string[]): void => {
      for (const k of keys) {
        if (k === ANY) {
          for (const n of this.nodes.keys()) into.add(n);
          return;
        }
        for (const e of index.get(k) ?? []) into.add(e.node.id);
      }
    };
    add(this.nodeIndex.srcMembers, r.srcKeys);
    if (r.self)
      for (const devices of this.nodeIndex.devicesOfUser.values()) for (const e of devices) into.add(e.node.id);
    else add(this.nodeIndex.dstMembers, r.dstKeys);
  }

  peersOf(id: string): string[] {
    const cached = this.peers.get(id);
    if (cached) return cached;
    const e = this.nodes.get(id);
    if (!e) return [];
    const shared = this.peerGroupOf(id);
    const out = sortedHas(shared, id) ? shared.filter((p) => p !== id) : (shared as string[]);
    this.peers.set(id, out);
    return out;
  }

  /**
   * The peers of every node with `id`'s keys, sorted, `id` itself possibly among them: `peersOf`
   * without the per-node copy. Lists with equal content are one object while anyone holds them.
   */
  peerGroupOf(id: string): readonly string[] {
    const e = this.nodes.get(id);
    if (!e) return [];
    let shared = this.peersBySignature.get(e.keys.signature);
    if (!shared) {
      const list = visibleTo(e, this.compiled, this.nodeIndex, this.previousPeers?.get(e.keys.signature));
      shared = (
        list === this.previousPeers?.get(e.keys.signature) ? list : this.peerLists.intern(JSON.stringify(list), list)
      ) as string[];
      this.peersBySignature.set(e.keys.signature, shared);
    }
    return shared;
  }
}
