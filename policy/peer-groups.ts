/**
 * Who sees whom: a node's peers are the nodes on the other side of every rule it is on either
 * side of (application grants included, as in Tailscale), and for autogroup:self the same user's devices. They
 * depend only on the node's keys, so NetworkState computes them once per key signature.
 */
import { ANY, type CompiledPolicy, type CompiledRule } from './compiled.ts';
import type { NodeEntry, NodeIndex } from './node-index.ts';

function intersects(keys: ReadonlySet<string>, list: readonly string[]): boolean {
  for (const k of list) if (keys.has(k)) return true;
  return false;
}

/** The devices of `user` that a self rule's sources match. */
export function selfSourceNodes(r: CompiledRule, user: string, index: NodeIndex): NodeEntry[] {
  const out: NodeEntry[] = [];
  for (const e of index.devicesOfUser.get(user) ?? []) if (intersects(e.keys.src, r.srcKeys)) out.push(e);
  return out;
}

/**
 * Every node visible to a node with `e`'s keys, `e` itself included if it qualifies, sorted.
 * `previous` (the list the replaced state had for these keys) is returned as is when it holds
 * exactly these nodes, so unchanged lists stay one shared object.
 */
export function visibleTo(
  e: NodeEntry,
  compiled: CompiledPolicy,
  index: NodeIndex,
  previous: readonly string[] | undefined,
): readonly string[] {
  const srcSide = new Set<string>();
  const dstSide = new Set<string>();
  for (const k of e.keys.dst) {
    for (const r of compiled.dstRulesByKey.get(k) ?? []) for (const s of r.srcKeys) srcSide.add(s);
  }
  for (const k of e.keys.src) {
    for (const r of compiled.srcRulesByKey.get(k) ?? []) if (!r.self) for (const d of r.dstKeys) dstSide.add(d);
  }
  // Mark each peer once by slot: far cheaper than a Set of ids for hundreds of peers.
  const epoch = ++index.epoch;
  const marks = index.marks;
  const out: string[] = [];
  const take = (p: NodeEntry): void => {
    if (marks[p.slot] !== epoch) {
      marks[p.slot] = epoch;
      out.push(p.node.id);
    }
  };
  if (srcSide.has(ANY) || dstSide.has(ANY)) for (const p of index.nodes.values()) take(p);
  else {
    for (const k of srcSide) for (const p of index.srcMembers.get(k) ?? []) take(p);
    for (const k of dstSide) for (const p of index.dstMembers.get(k) ?? []) take(p);
  }
  const user = e.keys.selfUser;
  if (user) {
    for (const r of compiled.selfRules) {
      if (intersects(e.keys.src, r.srcKeys)) for (const p of index.devicesOfUser.get(user) ?? []) take(p);
      else for (const p of selfSourceNodes(r, user, index)) take(p);
    }
  }
  if (
    previous !== undefined &&
    previous.length === out.length &&
    previous.every((id) => {
      const p = index.nodes.get(id);
      return p !== undefined && marks[p.slot] === epoch;
    })
  )
    return previous;
  out.sort();
  return out;
}
