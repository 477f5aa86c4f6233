import type { RouteHealth, RouteHealthReport } from '../../protocol/route-health.ts';
import type { RouteProbeSpec } from './probe-spec.ts';
import { runProbe } from './route-probe.ts';

/**
 * The router's check that it reaches what it routes (`--route-probe`), every `intervalMs`
 * (500 ms): each route's probe, in parallel, each bounded by `timeoutMs` (500 ms). A failed
 * probe is tried once more at once, and a route whose retry fails too is unhealthy in that same
 * round: one lost packet is not a dead subnet, but waiting for a second round would add an
 * interval and a timeout to every failover (the 3 s target). It is healthy again at the first
 * answer; the server's election does not take a prefix back on its own, so a route that
 * recovers does not flap. The tunnel is `down` while the agent has no
 * WireGuard device. A report goes to the server only when it differs from the last one sent
 * (and again on every new map stream, see ControlLink), so a steady router sends nothing.
 */
interface MonitorDeps {
  /** The probes in force (the node's settings, for routes it advertises). */
  probes(): readonly RouteProbeSpec[];
  /** Whether this node advertises routes at all: no report otherwise. */
  isRouter(): boolean;
  tunnelUp(): boolean;
  report(report: RouteHealthReport): void;
  intervalMs?: number;
  timeoutMs?: number;
  /** For tests: the probe itself. */
  probe?: typeof runProbe;
}

export class RouteHealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private readonly failures = new Map<string, number>();
  private readonly errors = new Map<string, string>();
  private last = '';
  private running = false;

  constructor(private readonly deps: MonitorDeps) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.deps.intervalMs ?? 500);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.last = '';
  }

  /** One round of probes, then a report if anything changed. Exposed for tests. */
  async tick(): Promise<void> {
    if (this.running) return; // a slow round is not overtaken by the next
    this.running = true;
    try {
      if (!this.deps.isRouter()) return;
      const specs = this.deps.probes();
      const probe = this.deps.probe ?? runProbe;
      const timeoutMs = this.deps.timeoutMs ?? 500;
      const results = await Promise.all(
        specs.map(async (s) => (await probe(s.probe, timeoutMs)) && probe(s.probe, timeoutMs)),
      );
      const routes: RouteHealth[] = specs.map((s, i) => this.judge(s, results[i]));
      const tunnelUp = this.deps.tunnelUp();
      const report: RouteHealthReport = {
        type: 'route-health',
        tunnel: tunnelUp ? 'up' : 'down',
        ...(!tunnelUp && { tunnelError: 'no WireGuard device' }),
        routes,
      };
      const text = JSON.stringify({ ...report, routes: routes.map(({ failures: _f, ...r }) => r) });
      if (text === this.last) return;
      this.last = text;
      this.deps.report(report);
    } finally {
      this.running = false;
    }
  }

  private judge(spec: RouteProbeSpec, error: string | undefined): RouteHealth {
    const key = `${spec.prefix} ${spec.probe.kind}:${spec.probe.target}`;
    const failures = error === undefined ? 0 : (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    if (error !== undefined) this.errors.set(key, error);
    const healthy = failures === 0;
    return {
      prefix: spec.prefix,
      healthy,
      probe: spec.probe,
      ...(!healthy && { error: this.errors.get(key)!.slice(0, 256), failures }),
    };
  }
}
