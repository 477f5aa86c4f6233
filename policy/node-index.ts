import { ANY } from './compiled.ts';
import type { NodeKeys } from './node-keys.ts';
import type { PolicyNode } from './node.ts';

export interface NodeEntry {
  node: PolicyNode;
  /** A small integer, unique among live nodes, for marking nodes without hashing ids. */
  slot: number;
  keys: NodeKeys;
  /** Identity and addresses, to spot an upsert that changes nothing. */
  fingerprint: string;
}

export function fingerprint(n: PolicyNode): string {
  return JSON.stringify([n.user, n.idpGroups ?? [], n.tags, n.ipv4, n.ipv6, n.approvedRoutes, n.routableIPs]);
}

export type Members = Map<string, Set<NodeEntry>>;

function addTo(map: Members, key: string, e: NodeEntry): void {
  const set = map.get(key);
  if (set) set.add(e);
  else map.set(key, new Set([e]));
}

function removeFrom(map: Members, key: string, e: NodeEntry): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(e);
  if (set.size === 0) map.delete(key);
}

/**
 * The nodes and who holds each key. It depends on the policy only through the compiled policy's
 * `keyBasis`, so a new policy with the same basis takes it over instead of rebuilding it.
 */
export class NodeIndex {
  readonly nodes = new Map<string, NodeEntry>();
  readonly srcMembers: Members = new Map();
  readonly dstMembers: Members = new Map();
  /** Untagged devices per user: what autogroup:self pairs. */
  readonly devicesOfUser: Members = new Map();
  readonly freeSlots: number[] = [];
  nextSlot = 0;
  /** Per-slot marks, compared with a fresh epoch per walk (shared with the index's users). */
  marks = new Int32Array(1024);
  epoch = 0;
  readonly subnetRouteRefs = new Map<string, number>();

  /** A free slot, growing the marks when every slot is taken. */
  takeSlot(): number {
    const slot = this.freeSlots.pop() ?? this.nextSlot++;
    if (slot >= this.marks.length) {
      const grown = new Int32Array(this.marks.length * 2);
      grown.set(this.marks);
      this.marks = grown;
    }
    return slot;
  }

  releaseSlot(slot: number): void {
    this.freeSlots.push(slot);
  }

  /** Files `e` under each of its keys (the entry itself goes in `nodes` separately). */
  index(e: NodeEntry): void {
    for (const k of e.keys.src) if (k !== ANY) addTo(this.srcMembers, k, e);
    for (const k of e.keys.dst) if (k !== ANY) addTo(this.dstMembers, k, e);
    if (e.keys.selfUser) addTo(this.devicesOfUser, e.keys.selfUser, e);
    for (const r of e.keys.subnetRoutes) this.subnetRouteRefs.set(r, (this.subnetRouteRefs.get(r) ?? 0) + 1);
  }

  unindex(e: NodeEntry): void {
    for (const k of e.keys.src) if (k !== ANY) removeFrom(this.srcMembers, k, e);
    for (const k of e.keys.dst) if (k !== ANY) removeFrom(this.dstMembers, k, e);
    if (e.keys.selfUser) removeFrom(this.devicesOfUser, e.keys.selfUser, e);
    for (const r of e.keys.subnetRoutes) {
      const n = (this.subnetRouteRefs.get(r) ?? 0) - 1;
      if (n > 0) this.subnetRouteRefs.set(r, n);
      else this.subnetRouteRefs.delete(r);
    }
  }
}
