/**
 * The relay's routing table: receiver indices the relay has seen nodes choose. A packet carrying
 * `index` that comes from `peer` goes to `owner`, the node that chose it. Indices are random
 * 32-bit numbers each node picks on its own, so one index may belong to several nodes; the
 * sending peer tells them apart (a pair with the same index on both sides is refused: the newer
 * route replaces the older one).
 */
export interface Route {
  index: number;
  owner: string;
  peer: string;
  expiresAt: number;
}

export class RouteTable {
  private readonly byIndex = new Map<number, Route[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(index: number): boolean {
    return this.byIndex.has(index);
  }

  /** Adds or renews the route for (index, peer). */
  set(route: Route): void {
    const list = this.byIndex.get(route.index) ?? [];
    const at = list.findIndex((r) => r.peer === route.peer);
    if (at >= 0) list[at] = route;
    else {
      list.push(route);
      this.count++;
    }
    this.byIndex.set(route.index, list);
  }

  find(index: number, from: string, now: number): Route | undefined {
    const route = this.byIndex.get(index)?.find((r) => r.peer === from);
    return route && route.expiresAt > now ? route : undefined;
  }

  /** Removes expired routes and those `keep` refuses (the pair may no longer see each other). */
  sweep(now: number, keep: (route: Route) => boolean): void {
    for (const [index, list] of this.byIndex) {
      const kept = list.filter((r) => r.expiresAt > now && keep(r));
      this.count -= list.length - kept.length;
      if (kept.length) this.byIndex.set(index, kept);
      else this.byIndex.delete(index);
    }
  }
}
