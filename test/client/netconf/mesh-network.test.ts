import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listNftTable } from '../../../client/firewall/nft.ts';
import { GUARD_TABLE } from '../../../client/netconf/leak-guard.ts';
import { MeshNetwork } from '../../../client/netconf/mesh-network.ts';
import { run } from '../../../client/system/run.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import { WireGuardGoDevice } from '../../../client/wireguard/wireguard-go-device.ts';
import { Lab, type Host } from '../../e2e/harness/lab.ts';
import { describeWith, hasCommand, isRoot } from '../../support/prerequisites.ts';

const MESH = ['100.64.0.0/10', 'fd7a:115c:a1e0::/48'];
const ME = ['100.64.0.1/32', 'fd7a:115c:a1e0::1/128'];

describe('mesh network configuration input', () => {
  it('refuses non-host addresses, bad ranges and a small MTU, saying which field', () => {
    const make = (over: object) => () => new MeshNetwork({ iface: 'wg0', addresses: ME, meshRanges: MESH, ...over });
    expect(make({ addresses: ['100.64.0.0/24'] })).toThrowError(
      expect.objectContaining({ code: 'netconf.invalid_config', where: 'addresses[0]' }),
    );
    expect(make({ meshRanges: ['100.64.0.1/10'] })).toThrowError(
      expect.objectContaining({ where: 'meshRanges[0]', message: expect.stringContaining('host bits') }),
    );
    expect(make({ mtu: 576 })).toThrowError(expect.objectContaining({ where: 'mtu' }));
  });
});

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables')],
  'mesh addresses, routes and the leak guard',
  () => {
    let lab: Lab;
    let a: Host;
    let b: Host;
    let device: WireGuardGoDevice;
    let net: MeshNetwork;
    const ip = (args: string[]) => run('ip', args, { netns: a.netns }).then((r) => r.stdout);
    const json = async (args: string[]) => JSON.parse(await ip(['-json', ...args])) as Array<Record<string, unknown>>;
    const globalAddresses = async () => {
      const [link] = await json(['addr', 'show', 'dev', device.iface, 'scope', 'global']);
      const list = link!.addr_info as Array<{ local?: string; prefixlen?: number }>; // `{}` for filtered-out ones
      return list
        .filter((x) => x.local)
        .map((x) => `${x.local}/${x.prefixlen}`)
        .sort();
    };

    beforeAll(async () => {
      lab = await Lab.create();
      a = await lab.addHost('a');
      b = await lab.addHost('b');
      device = await WireGuardGoDevice.start({ iface: lab.uniqueName('m'), netns: a.netns });
      await device.configure({ privateKey: generateKeyPair().privateKey });
      net = new MeshNetwork({ iface: device.iface, netns: a.netns, addresses: ME, meshRanges: MESH });
    });
    afterAll(async () => {
      await device?.close();
      await lab?.cleanup();
    });

    it('sets the addresses, MTU 1280, link up and a route per mesh range', async () => {
      expect(await net.apply()).toEqual({ added: ['100.64.0.0/10', 'fd7a:115c:a1e0::/48'], removed: [] });
      const [link] = await json(['addr', 'show', 'dev', device.iface]);
      expect(link).toMatchObject({ mtu: 1280, flags: expect.arrayContaining(['UP']) });
      expect(await globalAddresses()).toEqual(ME);
      expect(await ip(['route', 'get', '100.100.1.1'])).toContain(`dev ${device.iface}`);
      expect(await ip(['route', 'get', 'fd7a:115c:a1e0:1::9'])).toContain(`dev ${device.iface}`);
    });

    it('is idempotent: applying again changes nothing', async () => {
      expect(await net.apply()).toEqual({ added: [], removed: [] });
    });

    it("routes peers' allowed IPs that the mesh ranges do not cover, and withdraws them again", async () => {
      const peers = ['100.64.0.9/32', 'fd7a:115c:a1e0::9/128', '10.20.0.0/16', '2001:db8:5::/64', '0.0.0.0/0', '::/0'];
      expect(await net.setPeerRoutes(peers)).toEqual({ added: ['10.20.0.0/16', '2001:db8:5::/64'], removed: [] });
      const viaDefault = await ip(['route', 'get', '192.0.2.1']).catch((err: Error) => err.message);
      expect(viaDefault).not.toContain(device.iface); // an exit node's /0 is not routed here
      expect(await ip(['route', 'get', '10.20.3.4'])).toContain(`dev ${device.iface}`);
      expect(await net.setPeerRoutes(peers.slice(0, 3))).toEqual({ added: [], removed: ['2001:db8:5::/64'] });
    });

    it('reads back routes iproute2 prints as "default" (a /0 someone routed via the interface with our tag)', async () => {
      await ip(['route', 'add', 'default', 'dev', device.iface, 'proto', '126', 'metric', '9999']);
      expect(await net.setPeerRoutes(['10.20.0.0/16'])).toEqual({ added: [], removed: ['0.0.0.0/0'] });
    });

    it('drops mesh traffic that a more specific route would send out another interface', async () => {
      // b answers for 100.64.5.1 on the LAN; a has a (stray) LAN route for that part of the mesh.
      await run('ip', ['addr', 'add', '100.64.5.1/24', 'dev', 'eth0'], { netns: b.netns });
      await ip(['route', 'add', '100.64.5.0/24', 'dev', 'eth0']);
      expect(await a.ping('100.64.5.1')).toBe(false);
      // The same ping leaks once the guard is gone: the check above can fail.
      await net.guard.remove();
      expect(await a.ping('100.64.5.1')).toBe(true);
      await net.apply();
      expect(await a.ping('100.64.5.1')).toBe(false);
      await ip(['route', 'del', '100.64.5.0/24', 'dev', 'eth0']);
    });

    it('keeps mesh destinations unreachable while the mesh interface is gone, instead of using the default route', async () => {
      await ip(['route', 'add', 'default', 'via', b.address]);
      await ip(['link', 'set', device.iface, 'down']);
      await expect(ip(['route', 'get', '100.64.0.9'])).rejects.toMatchObject({
        stderr: expect.stringContaining('No route to host'),
      });
      await expect(ip(['route', 'get', 'fd7a:115c:a1e0::9'])).rejects.toMatchObject({ code: 'system.command_failed' });
      await net.apply();
      expect(await ip(['route', 'get', '100.64.0.9'])).toContain(`dev ${device.iface}`);
    });

    it('tears down only what it created', async () => {
      await ip(['addr', 'add', '192.168.77.1/32', 'dev', device.iface]);
      await ip(['route', 'add', '192.168.78.0/24', 'dev', device.iface]);
      await net.teardown();
      expect(await globalAddresses()).toEqual(['192.168.77.1/32']);
      const routes = [
        ...(await json(['-4', 'route', 'show', 'table', 'all'])),
        ...(await json(['-6', 'route', 'show', 'table', 'all'])),
      ];
      expect(routes.map((r) => r.dst)).not.toEqual(expect.arrayContaining(['100.64.0.0/10']));
      expect(
        routes.filter((r) => String(r.dst).startsWith('fd7a:115c:a1e0') || String(r.dst).startsWith('100.64')),
      ).toEqual([]);
      expect(routes.map((r) => r.dst)).toContain('192.168.78.0/24');
      expect(await listNftTable('inet', GUARD_TABLE, a.netns)).toBeUndefined();
    });
  },
);
