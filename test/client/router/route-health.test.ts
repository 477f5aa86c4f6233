import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteHealthReport } from '../../../protocol/route-health.ts';
import { parseProbeSpec } from '../../../client/router/probe-spec.ts';
import { RouteHealthMonitor } from '../../../client/router/route-health-monitor.ts';
import { runProbe } from '../../../client/router/route-probe.ts';

describe('--route-probe values', () => {
  it('reads tcp:IP:PORT, tcp:[IPv6]:PORT and icmp:IP for a prefix, canonical', () => {
    expect(parseProbeSpec('10.1.0.0/24=tcp:10.1.0.10:443')).toEqual({
      ok: true,
      value: { prefix: '10.1.0.0/24', probe: { kind: 'tcp', target: '10.1.0.10:443' } },
    });
    expect(parseProbeSpec('FD00:1::/64=tcp:[fd00:1::10]:22')).toMatchObject({ value: { prefix: 'fd00:1::/64' } });
    expect(parseProbeSpec('10.1.0.0/24=icmp:10.1.0.1')).toMatchObject({ value: { probe: { kind: 'icmp' } } });
  });

  it('refuses what it cannot probe, saying why', () => {
    const error = (t: string) => {
      const r = parseProbeSpec(t);
      return r.ok ? 'accepted' : r.error;
    };
    expect(error('10.1.0.0/24')).toContain('write PREFIX=tcp:HOST:PORT or PREFIX=icmp:HOST');
    expect(error('10.1.0.1/24=icmp:10.1.0.1')).toContain('host bits set');
    expect(error('10.1.0.0/24=tcp:db.internal:5432')).toContain('tcp needs IP:PORT');
    expect(error('10.1.0.0/24=tcp:fd00::1:22')).toContain('tcp needs IP:PORT');
    expect(error('10.1.0.0/24=tcp:10.1.0.1:70000')).toContain('port 70000 is not 1-65535');
    expect(error('10.1.0.0/24=icmp:')).toContain('icmp needs an IP address');
    expect(error('10.1.0.0/24=http:10.1.0.1:80')).toContain('not "http"');
  });
});

describe('a TCP probe', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('answers when the target accepts, and says why not when it refuses', async () => {
    expect(await runProbe({ kind: 'tcp', target: `127.0.0.1:${port}` }, 1_000)).toBeUndefined();
    server.close();
    expect(await runProbe({ kind: 'tcp', target: `127.0.0.1:${port}` }, 1_000)).toBe(
      `tcp 127.0.0.1:${port}: ECONNREFUSED`,
    );
  });
});

describe('the route health monitor', () => {
  const spec = { prefix: '10.1.0.0/24', probe: { kind: 'tcp' as const, target: '10.1.0.10:443' } };
  const monitor = (answers: Array<string | undefined>, tunnel = () => true) => {
    const reports: RouteHealthReport[] = [];
    const m = new RouteHealthMonitor({
      probes: () => [spec],
      isRouter: () => true,
      tunnelUp: tunnel,
      report: (r) => reports.push(r),
      probe: () => Promise.resolve(answers.shift()),
    });
    return { m, reports };
  };

  it('retries a failed probe at once: one lost answer is no failure, a failed retry makes the route unhealthy in that round', async () => {
    // Rounds: ok; lost then answered; failed twice; failed twice; ok.
    const { m, reports } = monitor([
      undefined,
      'timeout',
      undefined,
      'refused',
      'timeout',
      'timeout',
      'timeout',
      undefined,
    ]);
    for (let i = 0; i < 5; i++) await m.tick();
    expect(reports.map((r) => r.routes[0]!.healthy)).toEqual([true, false, true]);
    expect(reports[1]!.routes[0]).toEqual({ ...spec, healthy: false, error: 'timeout', failures: 1 });
  });

  it('sends nothing while a route stays as it was', async () => {
    const { m, reports } = monitor([undefined, undefined, undefined]);
    for (let i = 0; i < 3; i++) await m.tick();
    expect(reports).toHaveLength(1);
  });

  it('reports the tunnel down while there is no WireGuard device', async () => {
    let up = true;
    const { m, reports } = monitor([undefined, undefined], () => up);
    await m.tick();
    up = false;
    await m.tick();
    expect(reports.map((r) => r.tunnel)).toEqual(['up', 'down']);
  });
});
