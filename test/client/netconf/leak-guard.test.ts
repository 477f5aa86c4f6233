import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardRuleset, killSwitchIn } from '../../../client/netconf/leak-guard.ts';
import { MeshNetwork } from '../../../client/netconf/mesh-network.ts';
import { prefixOrThrow } from '../../../client/netconf/prefix.ts';
import { run } from '../../../client/system/run.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import { WireGuardGoDevice } from '../../../client/wireguard/wireguard-go-device.ts';
import { Lab, type Host } from '../../e2e/harness/lab.ts';
import { describeWith, hasCommand, isRoot } from '../../support/prerequisites.ts';

const MESH = ['100.64.0.0/10', 'fd7a:115c:a1e0::/48'];

describe('the leak guard ruleset', () => {
  it('drops mesh destinations on every interface but the mesh one and loopback, in output and forward', () => {
    const text = guardRuleset(
      'trellis0',
      MESH.map((m) => prefixOrThrow(m)),
    );
    expect(text.split('\n').slice(0, 2)).toEqual(['add table inet trellis_guard', 'delete table inet trellis_guard']);
    for (const hook of ['output', 'forward']) {
      expect(text).toContain(
        [
          `  chain ${hook} {`,
          `    type filter hook ${hook} priority filter; policy accept;`,
          '    oifname { "trellis0", "lo" } accept',
          '    ip daddr { 100.64.0.0/10 } counter drop',
          '    ip6 daddr { fd7a:115c:a1e0::/48 } counter drop',
          '  }',
        ].join('\n'),
      );
    }
  });

  it("lets WireGuard's own marked packets through when given the device fwmark", () => {
    expect(guardRuleset('trellis0', [prefixOrThrow('100.64.0.0/10')], 0x5452)).toContain(
      'oifname { "trellis0", "lo" } accept\n    meta mark 0x5452 accept\n',
    );
  });
});

describe('the kill switch in the guard table (an exit node selected)', () => {
  const kill = {
    exitNode: 'exit-1',
    resolvers: ['100.64.0.2', 'fd7a:115c:a1e0::2'],
    localResolvers: ['100.100.100.100'],
    bypass: ['192.0.2.1'],
    lan: [prefixOrThrow('192.168.1.0/24')],
  };
  const text = guardRuleset(
    'trellis0',
    MESH.map((m) => prefixOrThrow(m)),
    0x7472,
    kill,
  );
  const output = text.slice(text.indexOf('chain output'), text.indexOf('chain forward'));

  it('refuses DNS to all but the exit node before the mesh interface is even considered', () => {
    const lines = output.split('\n').map((l) => l.trim());
    const dns = lines.findIndex((l) => l.includes('th dport { 53, 853 } ip daddr != { 100.64.0.2, 100.100.100.100 }'));
    expect(dns).toBeGreaterThan(lines.indexOf('meta mark 0x7472 accept'));
    expect(dns).toBeLessThan(lines.indexOf('oifname "trellis0" accept'));
    expect(text).toContain('dnat ip to 100.64.0.2');
    expect(text).toContain('dnat ip6 to fd7a:115c:a1e0::2');
  });

  it('lets only the server, the link housekeeping and the allowed LAN out by another interface, rejecting the rest', () => {
    expect(output).toContain('ip daddr { 192.0.2.1 } accept');
    expect(output).toContain('ip daddr { 192.168.1.0/24 } accept');
    expect(output.trim().split('\n').at(-2)?.trim()).toBe('counter reject with icmpx admin-prohibited');
  });

  it('names its exit node in the table, so a restarted agent and status find it', () => {
    expect(killSwitchIn(text)).toBe('exit-1');
    expect(killSwitchIn(guardRuleset('trellis0', []))).toBeUndefined();
  });
});

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables')],
  'the leak guard and WireGuard endpoints inside the mesh range',
  () => {
    // Two nodes behind the same carrier-grade NAT: their underlay addresses are in 100.64.0.0/10.
    let lab: Lab;
    let hosts: Host[];
    const devices: WireGuardGoDevice[] = [];
    const nets: MeshNetwork[] = [];
    const FWMARK = 0x5452;

    beforeAll(async () => {
      lab = await Lab.create();
      hosts = [await lab.addHost('a'), await lab.addHost('b')];
      const keys = [generateKeyPair(), generateKeyPair()];
      for (const [i, h] of hosts.entries()) {
        await run('ip', ['-n', h.netns, 'addr', 'add', `100.100.5.${i + 1}/24`, 'dev', 'eth0']);
        const d = await WireGuardGoDevice.start({ iface: lab.uniqueName(`g${i}`), netns: h.netns });
        devices.push(d);
        await d.configure({ privateKey: keys[i]!.privateKey, listenPort: 51820, fwmark: FWMARK });
      }
      for (const [i, d] of devices.entries()) {
        const j = 1 - i;
        await d.applyPeers([
          { publicKey: keys[j]!.publicKey, endpoint: `100.100.5.${j + 1}:51820`, allowedIPs: [`100.64.0.${j + 1}/32`] },
        ]);
      }
    });
    afterAll(async () => {
      await Promise.allSettled(devices.map((d) => d.close()));
      await lab?.cleanup();
    });

    const configure = async (fwmark?: number) => {
      nets.length = 0;
      for (const [i, h] of hosts.entries()) {
        const net = new MeshNetwork({
          iface: devices[i]!.iface,
          netns: h.netns,
          addresses: [`100.64.0.${i + 1}/32`],
          meshRanges: MESH,
          ...(fwmark && { fwmark }),
        });
        await net.apply();
        nets.push(net);
      }
    };

    it('without the fwmark exemption, the tunnel to such an endpoint cannot form (the guard drops it)', async () => {
      await configure();
      expect(await hosts[0]!.pingUntil('100.64.0.2', 2_000)).toBe(false);
    });

    it('with the device fwmark exempt, the tunnel forms while plain traffic to the range stays blocked', async () => {
      await configure(FWMARK);
      expect(await hosts[0]!.pingUntil('100.64.0.2')).toBe(true);
      expect(await hosts[0]!.ping('100.100.5.2')).toBe(false); // unmarked: still never leaves by eth0
    });
  },
);
