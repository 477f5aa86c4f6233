/**
 * viewChanges: what a new policy changes for each node, as the node would see it: the peers it
 * gains and loses, and the packet-filter rules that appear and go. Only the nodes whose view
 * changes are examined (changedViews), so a small edit costs little on a large network.
 */
import type { FilterRule } from '../protocol/filter.ts';
import { changedViews, type PolicyNetwork } from './network.ts';

interface NodeRef {
  id: string;
  name: string;
}

export interface ViewChange {
  node: NodeRef;
  peersAdded: NodeRef[];
  peersRemoved: NodeRef[];
  filterAdded: FilterRule[];
  filterRemoved: FilterRule[];
}

/** The changes between two networks over the same nodes, by node name. */
export function viewChanges(before: PolicyNetwork, after: PolicyNetwork): ViewChange[] {
  const refOf = (id: string): NodeRef => ({ id, name: after.node(id)?.name ?? before.node(id)?.name ?? id });
  const out: ViewChange[] = [];
  for (const id of changedViews(before, after)) {
    if (!after.node(id)) continue;
    const was = new Set(before.peersOf(id));
    const now = new Set(after.peersOf(id));
    const oldRules = new Map(before.filterOf(id).map((r) => [JSON.stringify(r), r]));
    const newRules = new Map(after.filterOf(id).map((r) => [JSON.stringify(r), r]));
    out.push({
      node: refOf(id),
      peersAdded: [...now].filter((p) => !was.has(p)).map(refOf),
      peersRemoved: [...was].filter((p) => !now.has(p)).map(refOf),
      filterAdded: [...newRules].filter(([k]) => !oldRules.has(k)).map(([, r]) => r),
      filterRemoved: [...oldRules].filter(([k]) => !newRules.has(k)).map(([, r]) => r),
    });
  }
  return out.sort((a, b) => a.node.name.localeCompare(b.node.name));
}
