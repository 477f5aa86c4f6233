/**
 * Nodes grouped by the source lists that cover them. A filter rule's sources are an address list;
 * a node is one of them when the list covers every address it has. Two nodes that every list
 * covers alike (a user's devices, the servers of one tag) are the same source to every rule, so
 * the access diff judges each class once instead of each node.
 *
 * Lists are registered first (`listIndex`), then `seal` computes each list's members in one
 * pass per list over the nodes' sorted addresses, and from them each node's class.
 */
import { parseAddress } from '../protocol/ip/address.ts';
import { lineValue } from '../protocol/ip/range.ts';
import { rangesOf } from './address-match.ts';
import type { PolicyNode } from './node.ts';

export class SourceClasses {
  /** Every node address on the address line, sorted, with its node's position. */
  private readonly addresses: Array<{ value: bigint; node: number }> = [];
  /** Per node: how many addresses it has (a node whose address does not parse has none to cover). */
  private readonly addressCount: number[] = [];
  private readonly position = new Map<string, number>();
  private readonly lists: Array<readonly string[]> = [];
  private readonly byIdentity = new WeakMap<readonly string[], number>();
  private readonly byText = new Map<string, number>();
  private nodeClass: number[] = [];
  private classMembers: Array<ReadonlySet<number>> = [];

  constructor(nodes: PolicyNode[]) {
    nodes.forEach((n, i) => {
      this.position.set(n.id, i);
      const texts = [n.ipv4, n.ipv6].filter((a) => a !== '');
      const parsed = texts.map((t) => parseAddress(t));
      if (texts.length === 0 || parsed.some((p) => !p.ok)) return void this.addressCount.push(0);
      this.addressCount.push(texts.length);
      for (const p of parsed) if (p.ok) this.addresses.push({ value: lineValue(p.value), node: i });
    });
    this.addresses.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  }

  /** The index of a source list; lists equal in content share one (compiled lists are mostly shared already). */
  listIndex(list: readonly string[]): number {
    let i = this.byIdentity.get(list);
    if (i !== undefined) return i;
    const text = list.join('\n');
    i = this.byText.get(text);
    if (i === undefined) {
      i = this.lists.length;
      this.lists.push(list);
      this.byText.set(text, i);
    }
    this.byIdentity.set(list, i);
    return i;
  }

  /** Computes each node's class from the lists registered so far. */
  seal(): void {
    const membership: number[][] = this.addressCount.map(() => []);
    const hits = new Array<number>(this.addressCount.length).fill(0);
    this.lists.forEach((list, index) => {
      const touched: number[] = [];
      for (const range of rangesOf(list)) {
        for (let k = this.lowerBound(range.lo); k < this.addresses.length; k++) {
          const a = this.addresses[k]!;
          if (a.value > range.hi) break;
          if (hits[a.node]!++ === 0) touched.push(a.node);
        }
      }
      for (const node of touched) {
        if (hits[node] === this.addressCount[node]) membership[node]!.push(index);
        hits[node] = 0;
      }
    });
    const classes = new Map<string, number>();
    this.classMembers = [];
    this.nodeClass = membership.map((lists) => {
      const key = lists.join(',');
      let c = classes.get(key);
      if (c === undefined) {
        c = this.classMembers.length;
        classes.set(key, c);
        this.classMembers.push(new Set(lists));
      }
      return c;
    });
  }

  /** The class of node `id`; undefined for a node not given to the constructor. */
  classOf(id: string): number | undefined {
    const i = this.position.get(id);
    return i === undefined ? undefined : this.nodeClass[i];
  }

  /** The lists (by index) that cover the nodes of class `c`. */
  members(c: number): ReadonlySet<number> {
    return this.classMembers[c]!;
  }

  /** How many classes there are (nodes with the same sources count once). */
  get size(): number {
    return this.classMembers.length;
  }

  private lowerBound(value: bigint): number {
    let lo = 0;
    let hi = this.addresses.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.addresses[mid]!.value < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
