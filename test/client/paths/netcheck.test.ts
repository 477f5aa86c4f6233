import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasGlobalIpv6 } from '../../../client/paths/netcheck-ipv6.ts';
import { NetcheckReport } from '../../../client/paths/netcheck-report.ts';
import { verdictOf } from '../../../client/paths/netcheck-verdict.ts';
import { NetcheckError, runNetcheck } from '../../../client/paths/netcheck.ts';
import { probeStun } from '../../../client/paths/stun-probe.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

/** Against real servers on loopback: no NAT here, so the mapping is the socket itself. */
describe('netcheck against a server on loopback', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('sees UDP reachable on both ports, one mapping, no NAT, and its latencies, within the budget', async () => {
    const r = NetcheckReport.parse(await runNetcheck({ serverUrl: t.url, timeoutMs: 3_000 }));
    expect(r.udp.reachable).toBe(true);
    expect(r.udp.relayPort).toMatchObject({ target: `127.0.0.1:${t.server.relay!.port}`, answered: 3 });
    expect(r.udp.stunPort).toMatchObject({ target: `127.0.0.1:${t.server.stunPort}`, answered: 3 });
    expect(r.udp.relayPort!.mapped).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(r.udp.stunPort!.mapped).toBe(r.udp.relayPort!.mapped);
    expect(r.udp).toMatchObject({ mappingVariesByDestination: false, behindNat: false });
    expect(r.relayLatencyMs).toBeGreaterThan(0);
    expect(r.control.tcpLatencyMs).toBeGreaterThan(0);
    expect(r.control.wsPath).toBe('/api/v1/relay');
    expect(r.verdict.code).toBe('direct-likely');
    expect(r.elapsedMs).toBeLessThan(3_000);
  });

  it('with only the relay port (stunPort -1): UDP works, the NAT kind stays unknown', async () => {
    const one = await startTestServer({ relay: { udpPort: 0, stunPort: -1 } });
    try {
      const r = await runNetcheck({ serverUrl: one.url, timeoutMs: 2_000 });
      expect(r.udp).toMatchObject({ reachable: true, stunPort: null, mappingVariesByDestination: null });
      expect(r.verdict.code).toBe('nat-unknown');
    } finally {
      await one.stop();
    }
  });

  it('with the relay off: nothing to probe over UDP, and says so', async () => {
    const none = await startTestServer({ relay: { udpPort: -1 } });
    try {
      const r = await runNetcheck({ serverUrl: none.url, timeoutMs: 2_000 });
      expect(r.udp).toMatchObject({ reachable: null, relayPort: null, stunPort: null });
      expect(r.verdict.code).toBe('no-udp-relay');
    } finally {
      await none.stop();
    }
  });

  it('when no STUN answer comes (a port that swallows everything), gives up at its deadline', async () => {
    const sink = createSocket('udp4');
    let swallowed = 0;
    sink.on('message', () => (swallowed += 1));
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    try {
      const started = performance.now();
      const [r] = await probeStun([{ address: '127.0.0.1', port: sink.address().port }], {
        deadlineMs: 500,
        intervalMs: 100,
      });
      expect(performance.now() - started).toBeGreaterThanOrEqual(490);
      expect(performance.now() - started).toBeLessThan(700);
      expect(r).toMatchObject({ mapped: [], rttsMs: [] });
      expect(r!.sent).toBeGreaterThanOrEqual(5);
      await new Promise((done) => setTimeout(done, 50)); // the last request may still be in flight
      expect(swallowed).toBe(r!.sent);
    } finally {
      sink.close();
    }
  });

  it('refuses a server it cannot ask, with a stable code', async () => {
    await expect(runNetcheck({ serverUrl: 'http://127.0.0.1:59999', timeoutMs: 1_000 })).rejects.toMatchObject({
      code: 'netcheck.server_unreachable',
    });
    const err = await runNetcheck({ serverUrl: `${t.url}/not-trellis`, timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetcheckError);
    expect(err).toMatchObject({
      code: 'netcheck.bad_answer',
      message: expect.stringContaining('/not-trellis/api/v1/relay/info answered 404'),
    });
  });
});

describe('netcheck verdict', () => {
  const udp = (o: Partial<NetcheckReport['udp']>): NetcheckReport['udp'] => ({
    reachable: true,
    relayPort: null,
    stunPort: null,
    mappingVariesByDestination: null,
    behindNat: true,
    ...o,
  });
  it('names the path each finding leaves', () => {
    expect(verdictOf(udp({ reachable: false })).text).toMatch(/^UDP blocked: .*WebSocket relay/);
    expect(verdictOf(udp({ mappingVariesByDestination: true }))).toMatchObject({
      code: 'needs-easy-peer',
      text: expect.stringMatching(/^direct paths need the peer to have an easy NAT/),
    });
    expect(verdictOf(udp({ mappingVariesByDestination: false }))).toEqual({
      code: 'direct-likely',
      text: 'direct paths likely',
    });
    expect(verdictOf(udp({ mappingVariesByDestination: false, behindNat: false })).text).toContain('no NAT');
    expect(verdictOf(udp({})).code).toBe('nat-unknown');
    expect(verdictOf(udp({ reachable: null })).code).toBe('no-udp-relay');
  });
});

describe('global IPv6', () => {
  const iface = (address: string, internal = false) => ({
    address,
    family: 'IPv6' as const,
    internal,
    netmask: '',
    mac: '',
    cidr: null,
    scopeid: 0,
  });
  it('counts 2000::/3 only: not link-local, ULA, loopback or IPv4', () => {
    expect(hasGlobalIpv6({ eth0: [iface('fe80::1'), iface('fd7a:115c:a1e0::1')], lo: [iface('::1', true)] })).toBe(
      false,
    );
    expect(hasGlobalIpv6({ eth0: [{ ...iface('203.0.113.1'), family: 'IPv4' }] })).toBe(false);
    expect(hasGlobalIpv6({ eth0: [iface('fe80::1'), iface('2001:db8::5')] })).toBe(true);
    expect(hasGlobalIpv6({ eth0: [iface('3fff::1')] })).toBe(true);
  });
});
