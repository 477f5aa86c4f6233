import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatNetcheck } from '../../../../client/cli/netcheck.ts';
import { NetcheckReport } from '../../../../client/paths/netcheck-report.ts';
import { TRELLIS_BIN } from '../../../e2e/mesh/repo.ts';
import { startTestServer, type TestServer } from '../../../support/server.ts';

/** The real `trellis netcheck` process against an in-process server on loopback. */
function trellis(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [TRELLIS_BIN, 'netcheck', ...args], { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('trellis netcheck', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('--json prints one report object', async () => {
    const r = await trellis(['--server', t.url, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const report = NetcheckReport.parse(JSON.parse(r.stdout));
    expect(report).toMatchObject({
      server: t.url,
      udp: { reachable: true, mappingVariesByDestination: false },
      verdict: { code: 'direct-likely' },
    });
  });

  it('prints text by default, ending with the verdict', async () => {
    const r = await trellis(['--server', t.url, '--timeout', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^UDP: +reachable$/m);
    expect(r.stdout.trim().split('\n').pop()).toBe('verdict:         direct paths likely (no NAT in the way)');
  });

  it('exits 1 with a stable code when the server cannot be asked', async () => {
    const r = await trellis(['--server', 'http://127.0.0.1:59999', '--timeout', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /cannot reach the control server at http:\/\/127\.0\.0\.1:59999.*\[netcheck\.server_unreachable\]/,
    );
  });

  it('refuses bad flags, and needs --server when no agent runs', async () => {
    for (const [args, message] of [
      [['--timeout', '0'], '--timeout: "0" must be a number from 0.1 to 30 for `trellis netcheck`'],
      [['--timeout', '31'], 'from 0.1 to 30'],
      [['--timeout', '2', '--timeout', '3'], '--timeout given twice'],
      [['--bogus'], 'unknown flag --bogus for `trellis netcheck`; see `trellis netcheck --help`'],
      [['--server', 'ftp://x'], '--server: "ftp://x" must be an http:// or https:// URL'],
      [
        ['--state-dir', '/nonexistent-trellis'],
        'no --server given, and no agent answers at /nonexistent-trellis/agent.sock',
      ],
    ] as const) {
      const r = await trellis([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });
});

describe('netcheck text', () => {
  it('shows unanswered ports and unknowns plainly', () => {
    const text = formatNetcheck({
      server: 'https://vpn.example.com',
      udp: {
        reachable: false,
        relayPort: { target: '192.0.2.1:3478', sent: 10, answered: 0, mapped: null, rttMs: null },
        stunPort: null,
        mappingVariesByDestination: null,
        behindNat: null,
      },
      relayLatencyMs: null,
      control: { tcpLatencyMs: 12.5, wsPath: '/api/v1/relay' },
      ipv6: { global: true },
      verdict: { code: 'udp-blocked', text: 'UDP blocked: traffic goes over the WebSocket relay (HTTPS)' },
      elapsedMs: 3000,
    });
    expect(text).toContain('  relay port:    192.0.2.1:3478 no answer (10 sent)\n');
    expect(text).toContain('  STUN port:     none on this server\n');
    expect(text).toContain('mapping varies:  unknown\n');
    expect(text).toContain('control latency: 12.5 ms');
    expect(text).toContain('global IPv6:     yes\n');
  });
});
