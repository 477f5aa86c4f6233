import { afterAll, beforeAll, expect, it } from 'vitest';
import { run } from '../../../client/system/run.ts';
import type { WireGuardDevice } from '../../../client/wireguard/device.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import { Lab, type Host } from '../../e2e/harness/lab.ts';
import { describeWith, type Prerequisite } from '../../support/prerequisites.ts';

/**
 * What every WireGuardDevice must do, run by each implementation in a few lines (the way
 * hono runs one router case suite for every router). `open` makes a device named `iface` in
 * `netns`; `close` undoes whatever `open` did.
 */
export type DeviceFactory = (
  netns: string,
  iface: string,
) => Promise<{ device: WireGuardDevice; close: () => Promise<void> }>;

export const until = async (cond: () => boolean | Promise<boolean>, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
};

export function deviceCases(name: string, prereqs: Prerequisite[], open: DeviceFactory): void {
  describeWith(prereqs, `${name}: the WireGuardDevice contract`, () => {
    let lab: Lab;
    let host: Host;
    let other: Host;
    const closers: Array<() => Promise<void>> = [];
    let count = 0;
    const make = async (on: Host = host) => {
      const made = await open(on.netns, lab.uniqueName(`c${count++}`));
      closers.push(made.close);
      return made.device;
    };
    const ip = (h: Host, args: string[]) => run('ip', args, { netns: h.netns });
    const peerOf = (d: WireGuardDevice, key: string) => d.state().then((s) => s.peers.find((p) => p.publicKey === key));
    const me = generateKeyPair();
    const [p1, p2] = [generateKeyPair().publicKey, generateKeyPair().publicKey];

    beforeAll(async () => {
      lab = await Lab.create();
      host = await lab.addHost('h');
      other = await lab.addHost('o');
    });
    afterAll(async () => {
      for (const close of closers) await close().catch(() => undefined);
      await lab?.cleanup();
    });

    it('takes a private key and port, reports the public key, and changes only what differs', async () => {
      const d = await make();
      await d.configure({ privateKey: me.privateKey, listenPort: 51820 });
      expect(await d.state()).toEqual({ publicKey: me.publicKey, listenPort: 51820, fwmark: 0, peers: [] });
      await d.configure({ privateKey: me.privateKey, listenPort: 51821 });
      expect(await d.state()).toMatchObject({ publicKey: me.publicKey, listenPort: 51821 });
    });

    it('adds, updates and removes peers incrementally, leaving unchanged peers (and their counters) alone', async () => {
      const d = await make();
      await d.configure({ privateKey: me.privateKey });
      await ip(host, ['link', 'set', d.iface, 'up']);
      await ip(host, ['route', 'add', '100.64.9.0/24', 'dev', d.iface]);
      const first = { publicKey: p1, endpoint: '10.77.0.99:51820', allowedIPs: ['100.64.9.2/32'] };
      expect(await d.applyPeers([first, { publicKey: p2, allowedIPs: ['100.64.9.3/32'] }])).toEqual({
        added: [p1, p2],
        updated: [],
        removed: [],
      });

      // Traffic for p1 makes the device send handshake initiations: p1's tx counter moves.
      await run('ping', ['-c', '1', '-W', '1', '100.64.9.2'], { netns: host.netns }).catch(() => undefined);
      await until(async () => ((await peerOf(d, p1))?.txBytes ?? 0) > 0);
      const before = (await peerOf(d, p1))!;

      expect(await d.applyPeers([first, { publicKey: p2, allowedIPs: ['100.64.9.3/32', '10.9.0.0/16'] }])).toEqual({
        added: [],
        updated: [p2],
        removed: [],
      });
      expect((await peerOf(d, p1))!.txBytes).toBeGreaterThanOrEqual(before.txBytes); // a replace would have reset it to 0
      expect((await peerOf(d, p2))!.allowedIPs.sort()).toEqual(['10.9.0.0/16', '100.64.9.3/32']);

      expect(await d.applyPeers([{ publicKey: p2, allowedIPs: ['100.64.9.3/32'] }])).toEqual({
        added: [],
        updated: [p2],
        removed: [p1],
      });
      expect((await d.state()).peers.map((p) => p.publicKey)).toEqual([p2]);
      expect(await d.applyPeers([{ publicKey: p2, allowedIPs: ['100.64.9.3/32'] }])).toEqual({
        added: [],
        updated: [],
        removed: [],
      });
    });

    it('sets and clears preshared keys and keepalives, and reports IPv4 and IPv6 endpoints', async () => {
      const d = await make();
      const psk = generateKeyPair().publicKey;
      await d.applyPeers([
        { publicKey: p1, endpoint: '10.77.0.98:51820', allowedIPs: [], presharedKey: psk, persistentKeepalive: 25 },
        { publicKey: p2, endpoint: '[fd00::2]:51820', allowedIPs: [] },
      ]);
      expect(await peerOf(d, p1)).toMatchObject({
        hasPresharedKey: true,
        persistentKeepalive: 25,
        endpoint: '10.77.0.98:51820',
      });
      expect((await peerOf(d, p2))!.endpoint).toBe('[fd00::2]:51820');
      await d.applyPeers([
        { publicKey: p1, endpoint: '10.77.0.98:51820', allowedIPs: [] },
        { publicKey: p2, endpoint: '[fd00::2]:51820', allowedIPs: [] },
      ]);
      expect(await peerOf(d, p1)).toMatchObject({ hasPresharedKey: false, persistentKeepalive: 0 });
    });

    it('starts handshakes on request, leaving the keepalive setting as it was', async () => {
      const d = await make();
      await d.configure({ privateKey: me.privateKey });
      await ip(host, ['link', 'set', d.iface, 'up']);
      await d.applyPeers([
        { publicKey: p1, endpoint: '10.77.0.97:51820', allowedIPs: [] },
        { publicKey: p2, allowedIPs: [] },
      ]);
      expect((await peerOf(d, p1))!.txBytes).toBe(0);
      await d.initiateHandshakes();
      await until(async () => ((await peerOf(d, p1))?.txBytes ?? 0) > 0);
      // Peers come back in the device's own order (wireguard-go's is a Go map's), so look up by key.
      const peers = (await d.state()).peers;
      const seen = (key: string) => peers.find((p) => p.publicKey === key)!;
      expect([seen(p1), seen(p2)].map((p) => [p.persistentKeepalive, p.txBytes > 0])).toEqual([
        [0, true],
        [0, false], // no endpoint: nothing to send to
      ]);
    });

    /** Two devices on two hosts, keyed, listening on `port` and up; no peers yet. */
    const pair = async (port: number) => {
      const [x, y] = [await make(host), await make(other)];
      const [kx, ky] = [generateKeyPair(), generateKeyPair()];
      await x.configure({ privateKey: kx.privateKey, listenPort: port });
      await y.configure({ privateKey: ky.privateKey, listenPort: port });
      for (const [h, d] of [
        [host, x],
        [other, y],
      ] as const)
        await ip(h, ['link', 'set', d.iface, 'up']);
      return { x, y, kx, ky };
    };

    it('restarts handshakes at once with peers that never completed one, despite the initiation just lost', async () => {
      const { x, y, kx, ky } = await pair(51840);
      await y.applyPeers([{ publicKey: kx.publicKey, allowedIPs: ['100.64.10.1/32'] }]);
      // First towards a port where nothing listens: the initiation is lost.
      await x.applyPeers([
        {
          publicKey: ky.publicKey,
          endpoint: `${other.address}:51849`,
          allowedIPs: ['100.64.10.2/32'],
          persistentKeepalive: 25,
        },
      ]);
      await x.initiateHandshakes();
      await until(async () => ((await peerOf(x, ky.publicKey))?.txBytes ?? 0) > 0);
      // WireGuard would send the next one 5 s after it; with the right endpoint, a restart goes now.
      await x.setEndpoint(ky.publicKey, `${other.address}:51840`);
      const restarted = Date.now();
      await x.restartHandshakes([ky.publicKey]);
      await until(async () => (await peerOf(x, ky.publicKey))?.lastHandshake !== undefined, 4_000);
      expect(Date.now() - restarted).toBeLessThan(4_000);
      expect(await peerOf(x, ky.publicKey)).toMatchObject({
        endpoint: `${other.address}:51840`,
        allowedIPs: ['100.64.10.2/32'],
        persistentKeepalive: 25,
      });
    });

    it("renews an established session at once: a new handshake, the peer's settings kept", async () => {
      const { x, y, kx, ky } = await pair(51850);
      await y.applyPeers([{ publicKey: kx.publicKey, allowedIPs: ['100.64.11.1/32'] }]);
      await x.applyPeers([
        {
          publicKey: ky.publicKey,
          endpoint: `${other.address}:51850`,
          allowedIPs: ['100.64.11.2/32'],
          persistentKeepalive: 25,
        },
      ]);
      await x.initiateHandshakes();
      await until(async () => (await peerOf(y, kx.publicKey))?.lastHandshake !== undefined);
      const first = (await peerOf(y, kx.publicKey))!.lastHandshake!.getTime();
      // Handshake times have a resolution of the wall clock; let it move on.
      await new Promise((r) => setTimeout(r, 1_100));
      await x.renewSessions([ky.publicKey]);
      await until(async () => ((await peerOf(y, kx.publicKey))?.lastHandshake?.getTime() ?? 0) > first, 3_000);
      expect(await peerOf(x, ky.publicKey)).toMatchObject({
        endpoint: `${other.address}:51850`,
        allowedIPs: ['100.64.11.2/32'],
        persistentKeepalive: 25,
      });
    });

    it('carries traffic to a peer of its own kind once both know each other', async () => {
      const [x, y] = [await make(host), await make(other)];
      const [kx, ky] = [generateKeyPair(), generateKeyPair()];
      await x.configure({ privateKey: kx.privateKey, listenPort: 51830 });
      await y.configure({ privateKey: ky.privateKey, listenPort: 51830 });
      for (const [h, d, addr] of [
        [host, x, '100.64.8.1'],
        [other, y, '100.64.8.2'],
      ] as const) {
        await ip(h, ['addr', 'add', `${addr}/24`, 'dev', d.iface]);
        await ip(h, ['link', 'set', d.iface, 'up']);
      }
      await x.applyPeers([
        { publicKey: ky.publicKey, endpoint: `${other.address}:51830`, allowedIPs: ['100.64.8.2/32'] },
      ]);
      await y.applyPeers([
        { publicKey: kx.publicKey, endpoint: `${host.address}:51830`, allowedIPs: ['100.64.8.1/32'] },
      ]);
      expect(await host.pingUntil('100.64.8.2')).toBe(true);
      const seen = (await y.state()).peers[0]!;
      expect(seen.lastHandshake!.getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(seen.rxBytes).toBeGreaterThan(0);
      expect(seen.endpoint).toBe(`${host.address}:51830`);
    });
  });
}
