import { NftFirewall } from '../../../client/firewall/firewall.ts';
import { MeshNetwork } from '../../../client/netconf/mesh-network.ts';
import { generateKeyPair, type KeyPair } from '../../../client/wireguard/keys.ts';
import type { PeerConfig } from '../../../client/wireguard/peer-diff.ts';
import { WireGuardGoDevice } from '../../../client/wireguard/wireguard-go-device.ts';
import type { Host } from './lab.ts';

/**
 * A lab host with the agent's data plane and no control plane: a wireguard-go device, the
 * mesh addresses and routes, and the inbound filter, all driven by the client/ modules and
 * configured directly by the test (in place of the server's map).
 */
export const MESH_RANGES = ['100.64.0.0/10', 'fd7a:115c:a1e0::/48'];
export const WG_PORT = 51820;

export interface DataplaneNode {
  host: Host;
  keys: KeyPair;
  ipv4: string;
  ipv6: string;
  device: WireGuardGoDevice;
  net: MeshNetwork;
  firewall: NftFirewall;
  /** Supervisor events, plus `restored` once addresses and routes are back after a restart. */
  events: string[];
  /** This node as a peer of others. */
  asPeer(): PeerConfig;
  close(): Promise<void>;
}

export async function startDataplaneNode(host: Host, index: number): Promise<DataplaneNode> {
  const keys = generateKeyPair();
  const ipv4 = `100.64.0.${index}`;
  const ipv6 = `fd7a:115c:a1e0::${index}`;
  const events: string[] = [];
  // What the agent's engine does on a restart: the device restored its keys and peers itself;
  // the new interface needs its addresses and routes (the filter matches it by name), and
  // peers need a fresh handshake, as they still hold sessions the new process does not know.
  const onEvent = (e: { type: string }) => {
    events.push(e.type);
    if (e.type !== 'restarted') return;
    net
      .apply()
      .then(() => device.initiateHandshakes())
      .then(
        () => events.push('restored'),
        (err: Error) => events.push(`restore_failed: ${err.message}`),
      );
  };
  const device = await WireGuardGoDevice.start({ iface: host.lab.uniqueName(`w${index}`), netns: host.netns, onEvent });
  const net = new MeshNetwork({
    iface: device.iface,
    netns: host.netns,
    addresses: [`${ipv4}/32`, `${ipv6}/128`],
    meshRanges: MESH_RANGES,
  });
  const firewall = new NftFirewall({ iface: device.iface, netns: host.netns });
  try {
    await device.configure({ privateKey: keys.privateKey, listenPort: WG_PORT });
    await net.apply();
  } catch (err) {
    await device.close();
    throw err;
  }
  return {
    host,
    keys,
    ipv4,
    ipv6,
    device,
    net,
    firewall,
    events,
    asPeer: () => ({
      publicKey: keys.publicKey,
      endpoint: `${host.address}:${WG_PORT}`,
      allowedIPs: [`${ipv4}/32`, `${ipv6}/128`],
    }),
    close: async () => {
      await firewall.clear().catch(() => undefined);
      await net.teardown().catch(() => undefined);
      await device.close();
    },
  };
}
