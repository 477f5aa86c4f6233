import { parsePrefix } from '../../protocol/ip/prefix.ts';
import { overlaps, prefixRange, type Range } from '../../protocol/ip/range.ts';
import { isExitRoute } from '../../protocol/route.ts';
import type { PolicyNetwork } from '../../policy/index.ts';
import type { RouteTable } from '../routes/route-table.ts';
import type { LiveNode } from './live-node.ts';

interface RouterViewsDeps {
  /** The compiled policy as it is now (the engine replaces it at every policy change). */
  network: () => PolicyNetwork;
  routes: RouteTable;
  /** The mesh services' addresses as host prefixes (server/services/). */
  servicePrefixes: ReadonlySet<string>;
}

/**
 * What each viewer routes to each subnet router. Usually the routes the router is the elected
 * primary of; two things make them differ: a grant with `via` that steers the viewer's traffic
 * to other routers, and the policy: a viewer gets a route only when traffic may flow between it
 * and the route (`routeConcerns`, as `trellis policy compile` and Tailscale send it), so a node
 * that may reach the router itself but nothing behind it is not told what the router carries.
 * Answers are remembered until `forget` (the engine calls it at every election).
 */
export class RouterViews {
  /** Each viewer's `via` steering (network.viaOf). */
  private readonly steering = new Map<string, ReadonlyArray<{ range: Range; tags: readonly string[] }>>();
  /** `routeConcerns` answers by `viewer router route`. */
  private readonly concerned = new Map<string, boolean>();

  constructor(private readonly deps: RouterViewsDeps) {}

  /** The routes `viewer` routes to router `peer` when they differ from its primary routes; else undefined. */
  routesFor(viewer: string, peer: LiveNode): readonly string[] | undefined {
    const chosen = this.steeredRoutes(viewer, peer) ?? peer.primaryRoutes;
    const allowed = chosen.filter((route) => this.concerns(viewer, peer.id, route));
    return sameList(allowed, peer.primaryRoutes) ? undefined : allowed;
  }

  /** Whether a `via` grant steers any of `viewer`'s traffic. */
  isSteered(viewer: string): boolean {
    return this.steeringOf(viewer).length > 0;
  }

  forget(): void {
    this.steering.clear();
    this.concerned.clear();
  }

  /**
   * A mesh service's address is its replica under another name, not a subnet behind it: every
   * peer of the replica gets it, and the replica's own inbound rules (those of its own address,
   * client/serve/) decide who may connect, as for the replica's own address.
   */
  private concerns(viewer: string, router: string, route: string): boolean {
    if (this.deps.servicePrefixes.has(route)) return true;
    const key = `${viewer} ${router} ${route}`;
    let yes = this.concerned.get(key);
    if (yes === undefined) this.concerned.set(key, (yes = this.deps.network().routeConcerns(viewer, router, route)));
    return yes;
  }

  /**
   * When a grant with `via` steers any of the viewer's routes: a steered route goes to the
   * primary among the routers with the grant's tags, the others to the elected primary.
   * Undefined when nothing steers this viewer's routes to `peer`.
   */
  private steeredRoutes(viewer: string, peer: LiveNode): readonly string[] | undefined {
    const steering = this.steeringOf(viewer);
    if (steering.length === 0) return undefined;
    const out: string[] = [];
    let differs = false;
    for (const route of peer.record.advertisedRoutes) {
      const range = rangeOfText(route);
      if (!range || isExitRoute(route)) continue;
      const steer = steering.find((s) => overlaps(s.range, range));
      const carrier = steer ? this.deps.routes.viaPrimary(route, steer.tags) : this.deps.routes.primary(route);
      if (carrier === peer.id) out.push(route);
      if (steer) differs = true;
    }
    return differs ? out.sort() : undefined;
  }

  private steeringOf(viewer: string): ReadonlyArray<{ range: Range; tags: readonly string[] }> {
    let s = this.steering.get(viewer);
    if (!s) {
      s = this.deps
        .network()
        .viaOf(viewer)
        .flatMap((v) => {
          const range = rangeOfText(v.prefix);
          return range ? [{ range, tags: v.tags }] : [];
        });
      this.steering.set(viewer, s);
    }
    return s;
  }
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function rangeOfText(text: string): Range | undefined {
  const p = parsePrefix(text);
  return p.ok ? prefixRange(p.value) : undefined;
}
