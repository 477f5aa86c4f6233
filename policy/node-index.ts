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

export function addTo(map: Members, key: string, e: NodeEntry): void {
  const set = map.get(key);
  if (set) set.add(e);
  else map.set(key, new Set([e]));
}

export function removeFrom(map: Members, key: string, e: NodeEntry): void {
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
}
