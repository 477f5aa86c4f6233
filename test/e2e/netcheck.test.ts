import { afterAll, beforeAll, expect, it } from 'vitest';
import { NetcheckReport } from '../../client/paths/netcheck-report.ts';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import type { Host } from './harness/lab.ts';
import { Lab } from './harness/lab.ts';
import { addNat, type Nat } from './harness/nat.ts';
import { TRELLIS_BIN } from './mesh/repo.ts';
import { ServerHost } from './mesh/server-host.ts';

/**
 * `trellis netcheck` from behind real NAT routers (iptables in network namespaces), against a
 * real server process on the lab's internet with its relay port (3478) and STUN port (3479)
 * (needs root and iptables only: no WireGuard here):
 *  - MASQUERADE keeps one outside port per inside socket: UDP works, one mapping for both ports;
 *  - MASQUERADE --random-fully picks a fresh port per destination: the mapping varies;
 *  - a router that drops UDP: no answer, and the verdict falls back to the WebSocket relay.
 */
const RELAY_PORT = 3478;
const STUN_PORT = 3479;

describeWith([isRoot(), hasCommand('iptables')], 'trellis netcheck behind NATs', () => {
  let lab: Lab;
  let server: ServerHost;
  const nats: Record<'easy' | 'hard' | 'blocked', Nat> = {} as never;
  const hosts: Record<'easy' | 'hard' | 'blocked', Host> = {} as never;

  async function netcheck(host: Host, json = true): Promise<{ report: NetcheckReport; text: string; ms: number }> {
    const started = Date.now();
    const args = [TRELLIS_BIN, 'netcheck', '--server', server.url];
    const { stdout } = await host.exec('node', json ? [...args, '--json'] : args, { timeoutMs: 20_000 });
    const ms = Date.now() - started;
    return { report: json ? NetcheckReport.parse(JSON.parse(stdout)) : (undefined as never), text: stdout, ms };
  }

  beforeAll(async () => {
    lab = await Lab.create();
    server = await ServerHost.start(lab, ['--relay.udpPort', String(RELAY_PORT)]);
    // One after another: the lab numbers segments as it creates them.
    nats.easy = await addNat(lab, 're');
    nats.hard = await addNat(lab, 'rh', { mapping: 'symmetric' });
    nats.blocked = await addNat(lab, 'rb');
    await nats.blocked.router.exec('iptables', ['-I', 'FORWARD', '-p', 'udp', '-j', 'DROP']);
    hosts.easy = await nats.easy.addHost('e');
    hosts.hard = await nats.hard.addHost('h');
    hosts.blocked = await nats.blocked.addHost('b');
  }, 120_000);
  afterAll(async () => {
    await lab?.cleanup();
    server?.dispose();
  });

  it('behind MASQUERADE: UDP reachable, the same public mapping from both ports, direct paths likely', async () => {
    const { report: r } = await netcheck(hosts.easy);
    expect(r.udp.reachable).toBe(true);
    expect(r.udp.relayPort).toMatchObject({
      target: `${server.host.address}:${RELAY_PORT}`,
      mapped: expect.stringMatching(new RegExp(`^${nats.easy.publicAddress}:\\d+$`)),
    });
    expect(r.udp.stunPort).toMatchObject({
      target: `${server.host.address}:${STUN_PORT}`,
      mapped: r.udp.relayPort!.mapped,
    });
    expect(r.udp).toMatchObject({ mappingVariesByDestination: false, behindNat: true });
    expect(r.relayLatencyMs).toBeGreaterThan(0);
    expect(r.control.tcpLatencyMs).toBeGreaterThan(0);
    expect(r.verdict).toEqual({ code: 'direct-likely', text: 'direct paths likely' });
    const { text } = await netcheck(hosts.easy, false);
    console.log(`netcheck behind MASQUERADE:\n${text}`);
  });

  it('behind MASQUERADE --random-fully: the mapping varies by destination, and the verdict says so', async () => {
    const { report: r, text } = await netcheck(hosts.hard);
    expect(r.udp.reachable).toBe(true);
    const [relay, stun] = [r.udp.relayPort!.mapped!, r.udp.stunPort!.mapped!];
    expect(relay.startsWith(`${nats.hard.publicAddress}:`) && stun.startsWith(`${nats.hard.publicAddress}:`)).toBe(
      true,
    );
    expect(relay).not.toBe(stun);
    expect(r.udp.mappingVariesByDestination).toBe(true);
    expect(r.verdict.code).toBe('needs-easy-peer');
    expect(r.verdict.text).toMatch(/^direct paths need the peer to have an easy NAT/);
    console.log(`netcheck behind MASQUERADE --random-fully (JSON):\n${text}`);
  });

  it('UDP dropped at the router: unreachable, HTTPS/TCP still measured, WebSocket relay verdict, within ~3 s', async () => {
    const { report: r, ms } = await netcheck(hosts.blocked);
    expect(r.udp.reachable).toBe(false);
    expect(r.udp.relayPort).toMatchObject({ answered: 0, mapped: null });
    expect(r.udp.stunPort).toMatchObject({ answered: 0, mapped: null });
    expect(r.udp.relayPort!.sent).toBeGreaterThan(1);
    expect(r.udp.mappingVariesByDestination).toBeNull();
    expect(r.control.tcpLatencyMs).toBeGreaterThan(0);
    expect(r.verdict.code).toBe('udp-blocked');
    expect(r.verdict.text).toMatch(/^UDP blocked: .*WebSocket relay/);
    expect(r.elapsedMs).toBeLessThanOrEqual(3_000);
    const { text } = await netcheck(hosts.blocked, false);
    console.log(`netcheck with UDP dropped (${ms} ms including node start-up):\n${text}`);
  });
});
