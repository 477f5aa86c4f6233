import { CommandError } from '../system/errors.ts';
import { run, type Runner } from '../system/run.ts';
import { NetconfError } from './errors.ts';
import { routeDst, showRoutes } from './ip-json.ts';
import { formatPrefix, type Prefix } from '../../protocol/ip/prefix.ts';
import { prefixOrThrow } from './prefix.ts';

/**
 * Routes through the mesh interface. Every route we add carries our own routing protocol
 * number, so "what we created" is read back from the kernel rather than remembered: a sync
 * after an agent restart, and a teardown after a crash, touch exactly our routes.
 */
export const TRELLIS_ROUTE_PROTO = '126';

export interface RouteChanges {
  added: string[];
  removed: string[];
}

export class MeshRoutes {
  constructor(
    readonly iface: string,
    readonly netns: string | undefined,
    private readonly runner: Runner = run,
  ) {}

  /** Makes our routes via the interface exactly `desired`. */
  async sync(desired: readonly Prefix[]): Promise<RouteChanges> {
    const changes: RouteChanges = { added: [], removed: [] };
    for (const family of [4, 6] as const) {
      const current = new Set((await this.current(family)).map(formatPrefix));
      const wanted = new Set(desired.filter((p) => p.family === family).map(formatPrefix));
      for (const dst of current) {
        if (wanted.has(dst)) continue;
        await this.ip(['route', 'del', dst, 'dev', this.iface, 'proto', TRELLIS_ROUTE_PROTO]);
        changes.removed.push(dst);
      }
      for (const dst of wanted) {
        if (current.has(dst)) continue;
        await this.add(dst);
        changes.added.push(dst);
      }
    }
    return changes;
  }

  async removeAll(): Promise<void> {
    await this.sync([]).catch((err: unknown) => {
      // The interface is gone, and its routes with it.
      if (!(err instanceof CommandError && /does not exist|Cannot find device/.test(err.stderr))) throw err;
    });
  }

  private async current(family: 4 | 6): Promise<Prefix[]> {
    const routes = await showRoutes(family, ['proto', TRELLIS_ROUTE_PROTO, 'dev', this.iface], this.netns, this.runner);
    return routes
      .filter((r) => r.type === undefined || r.type === 'unicast')
      .map((r) => prefixOrThrow(routeDst(family, r.dst)));
  }

  private async add(dst: string): Promise<void> {
    try {
      await this.ip(['route', 'add', dst, 'dev', this.iface, 'proto', TRELLIS_ROUTE_PROTO]);
    } catch (err) {
      if (err instanceof CommandError && /File exists/.test(err.stderr)) {
        throw new NetconfError(
          'netconf.route_conflict',
          `cannot route ${dst} via ${this.iface}: another route for ${dst} already exists (ip route show ${dst})`,
          dst,
        );
      }
      throw err;
    }
  }

  private ip(args: string[]) {
    return this.runner('ip', args, { netns: this.netns });
  }
}
