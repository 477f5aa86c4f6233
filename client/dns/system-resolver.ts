import { run, type Runner } from '../system/run.ts';

/**
 * Split DNS in the machine's own resolver: queries for the mesh domain go to the agent's DNS
 * server, everything else where it went before. Done through systemd-resolved (per-link DNS
 * server and a routing-only domain on the mesh interface), which forgets it by itself when the
 * interface goes. Without systemd-resolved nothing is changed: rewriting /etc/resolv.conf would
 * take over every query of the machine, so the agent only says where the names can be asked.
 */
export type SystemResolverKind = 'systemd-resolved' | 'none';

export class SystemResolver {
  constructor(
    private readonly iface: string,
    private readonly netns: string | undefined,
    private readonly runner: Runner = run,
  ) {}

  /** Routes `domain` to `server` on the mesh interface; which resolver took it. */
  async apply(server: string, domain: string): Promise<SystemResolverKind> {
    const resolvectl = (args: string[]) => this.runner('resolvectl', args, { netns: this.netns, timeoutMs: 5_000 });
    try {
      await resolvectl(['status', this.iface]);
    } catch {
      return 'none'; // no resolvectl, or systemd-resolved is not running
    }
    await resolvectl(['dns', this.iface, server]);
    await resolvectl(['domain', this.iface, `~${domain}`]);
    // Only the mesh domain: the interface must not become a route for every other name.
    await resolvectl(['default-route', this.iface, 'false']);
    return 'systemd-resolved';
  }
}
