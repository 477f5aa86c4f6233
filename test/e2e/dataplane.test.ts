import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FilterRule } from '../../protocol/filter.ts';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import { startDataplaneNode, type DataplaneNode } from './harness/dataplane-node.ts';
import { Lab } from './harness/lab.ts';

/**
 * The agent's data plane end to end, without a server: three namespaces, each with wireguard-go,
 * mesh addresses and routes, and an nftables inbound filter, all set up by client/ code with
 * peers configured directly. Real packets cross real WireGuard tunnels over a veth bridge.
 */
describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables')],
  'the data plane between three nodes',
  () => {
    let lab: Lab;
    let a: DataplaneNode;
    let b: DataplaneNode;
    let c: DataplaneNode;
    const nodes = () => [a, b, c];
    const others = (n: DataplaneNode) => nodes().filter((o) => o !== n);
    const tcp = (from: DataplaneNode, to: string, port: number) =>
      from.host.connectTcp(to, port, 800).then((r) => r.ok);
    const allowAllFromMesh: FilterRule[] = [
      { srcIPs: ['*'], dstPorts: [{ ip: '*', ports: { first: 0, last: 65535 } }], ipProto: [6, 17, 1, 58] },
    ];
    const onlyTcpFrom = (src: DataplaneNode, dst: DataplaneNode, ports: number[]): FilterRule[] => [
      {
        srcIPs: [src.ipv4, src.ipv6],
        dstPorts: ports.flatMap((p) => [dst.ipv4, dst.ipv6].map((ip) => ({ ip, ports: { first: p, last: p } }))),
        ipProto: [6],
      },
    ];

    beforeAll(async () => {
      lab = await Lab.create();
      const hosts = [await lab.addHost('a'), await lab.addHost('b'), await lab.addHost('c')] as const;
      [a, b, c] = await Promise.all([
        startDataplaneNode(hosts[0], 1),
        startDataplaneNode(hosts[1], 2),
        startDataplaneNode(hosts[2], 3),
      ]);
      for (const n of nodes()) {
        await n.device.applyPeers(others(n).map((o) => o.asPeer()));
        await n.firewall.apply(allowAllFromMesh);
        await n.host.serveTcp([22, 80]);
      }
    });
    afterAll(async () => {
      await Promise.allSettled(
        nodes()
          .filter(Boolean)
          .map((n) => n.close()),
      );
      await lab?.cleanup();
    });

    it('every node pings every other over the mesh, on IPv4 and IPv6, through WireGuard', async () => {
      for (const n of nodes()) {
        for (const o of others(n)) {
          expect(await n.host.pingUntil(o.ipv4), `${n.host.label} -> ${o.host.label} ${o.ipv4}`).toBe(true);
          expect(await n.host.pingUntil(o.ipv6), `${n.host.label} -> ${o.host.label} ${o.ipv6}`).toBe(true);
        }
      }
      const peers = (await a.device.state()).peers;
      expect(peers.map((p) => p.publicKey).sort()).toEqual([b.keys.publicKey, c.keys.publicKey].sort());
      for (const p of peers) {
        expect(p.lastHandshake).toBeInstanceOf(Date);
        expect(p.rxBytes).toBeGreaterThan(0);
        expect(p.endpoint).toMatch(/^10\.77\.0\.\d+:51820$/);
      }
    });

    it("carries TCP between mesh addresses, and the server sees the peer's mesh address", async () => {
      const reply = await a.host.connectTcp(b.ipv4, 80);
      expect(reply).toEqual({ ok: true, reply: `hello from b port 80 to ::ffff:${a.ipv4}` });
      expect(await c.host.connectTcp(b.ipv6, 22)).toEqual({ ok: true, reply: `hello from b port 22 to ${c.ipv6}` });
    });

    it('with a filter allowing only TCP 80 from A, A reaches B:80, B:22 is blocked, C reaches neither', async () => {
      await b.firewall.apply(onlyTcpFrom(a, b, [80]));
      expect(await tcp(a, b.ipv4, 80)).toBe(true);
      expect(await tcp(a, b.ipv6, 80)).toBe(true);
      expect(await tcp(a, b.ipv4, 22)).toBe(false);
      expect(await tcp(c, b.ipv4, 80)).toBe(false);
      expect(await tcp(c, b.ipv6, 22)).toBe(false);
      expect(await a.host.ping(b.ipv4)).toBe(false); // no ICMP rule: echo is a new inbound flow
    });

    it("B's own connections and pings still get their replies through B's filter", async () => {
      expect(await tcp(b, a.ipv4, 22)).toBe(true);
      expect(await tcp(b, c.ipv6, 80)).toBe(true);
      expect(await b.host.ping(c.ipv4)).toBe(true);
    });

    it('replacing the filter opens and closes ports live', async () => {
      await b.firewall.apply(onlyTcpFrom(a, b, [22]));
      expect(await tcp(a, b.ipv4, 22)).toBe(true);
      expect(await tcp(a, b.ipv4, 80)).toBe(false);
      await b.firewall.apply([...onlyTcpFrom(a, b, [22]), ...onlyTcpFrom(c, b, [80])]);
      expect(await tcp(c, b.ipv4, 80)).toBe(true);
      expect(await tcp(c, b.ipv4, 22)).toBe(false);
      await b.firewall.apply(allowAllFromMesh);
      expect(await tcp(c, b.ipv4, 22)).toBe(true);
    });

    it('removing a peer stops traffic with it and leaves the other tunnel untouched', async () => {
      const before = (await a.device.state()).peers.find((p) => p.publicKey === c.keys.publicKey)!;
      expect(await a.device.applyPeers([c.asPeer()])).toEqual({ added: [], updated: [], removed: [b.keys.publicKey] });
      expect(await a.host.ping(b.ipv4)).toBe(false);
      expect(await b.host.ping(a.ipv4)).toBe(false);
      expect(await tcp(b, a.ipv6, 80)).toBe(false);
      expect(await a.host.ping(c.ipv4)).toBe(true);
      const after = (await a.device.state()).peers.find((p) => p.publicKey === c.keys.publicKey)!;
      // Same session: counters kept growing and the handshake was not redone.
      expect(after.rxBytes).toBeGreaterThan(before.rxBytes);
      expect(after.lastHandshake).toEqual(before.lastHandshake);
    });

    it('adding the peer back restores traffic', async () => {
      expect(await a.device.applyPeers([c.asPeer(), b.asPeer()])).toEqual({
        added: [b.keys.publicKey],
        updated: [],
        removed: [],
      });
      expect(await a.host.pingUntil(b.ipv4)).toBe(true);
      expect(await tcp(b, a.ipv4, 22)).toBe(true);
    });

    it('survives a wireguard-go crash: the supervisor restarts it and the mesh comes back', async () => {
      const pid = a.device.pid!;
      process.kill(pid, 'SIGKILL'); // the wireguard-go this test started
      const deadline = Date.now() + 5_000;
      while (!a.events.includes('restored') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(a.events).toEqual(['started', 'exited', 'restarted', 'restored']);
      expect(a.device.pid).not.toBe(pid);
      expect(await a.host.pingUntil(b.ipv4)).toBe(true);
      expect(await tcp(c, a.ipv6, 80)).toBe(true); // c's old session was replaced at once, not after ~15 s
      expect((await a.device.state()).peers.map((p) => p.persistentKeepalive)).toEqual([0, 0]); // the kick left no trace
    });
  },
);
