import { createSocket, type Socket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { consumeInitiation, createResponse } from '../../../server/relay/handshake.ts';
import { LinkKind } from '../../../server/relay/link-message.ts';
import { parseInitiation } from '../../../server/relay/messages.ts';
import { RelayLink, type LinkLimits } from '../../../server/relay/relay-link.ts';
import { UdpPort } from '../../../server/relay/udp-port.ts';
import type { UdpAddress } from '../../../server/relay/udp-address.ts';
import { identity, Initiator } from './initiator.ts';

const SECRET = 'a cluster secret of at least thirty-two characters';
const b64 = (k: Uint8Array) => Buffer.from(k).toString('base64');

/** A node's WireGuard socket on loopback. */
class Wire {
  private readonly inbox: Uint8Array[] = [];
  private waiter?: () => void;
  private constructor(readonly socket: Socket) {
    socket.on('message', (m) => {
      this.inbox.push(new Uint8Array(m));
      this.waiter?.();
    });
  }
  static async open(): Promise<Wire> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    return new Wire(socket);
  }
  send(packet: Uint8Array, port: number): void {
    this.socket.send(packet, port, '127.0.0.1');
  }
  async next(ms = 2_000): Promise<Uint8Array | undefined> {
    const deadline = Date.now() + ms;
    while (this.inbox.length === 0 && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, deadline - Date.now());
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return this.inbox.shift();
  }
  close(): void {
    this.socket.close();
  }
}

/**
 * Two replicas' relays on loopback, each with its own server key; node a's relay is the first,
 * b's the second, and each relay's directory says where the other node is, as the replicas
 * table does. c is a node nobody may see.
 */
describe('the relay link between two replicas (real UDP on loopback)', () => {
  const nodes = { a: identity(), b: identity(), c: identity() };
  const visible: Record<string, string[]> = { a: ['b'], b: ['a'], c: [] };
  let r1: UdpPort;
  let r2: UdpPort;
  let wa: Wire;
  let wb: Wire;
  const trials: Array<{ node: string; text: string }> = [];
  const closers: Array<() => unknown> = [];

  const start = (port: UdpPort, here: 'a' | 'b', other: () => UdpPort, limits?: Partial<LinkLimits>) =>
    port.start({
      directory: {
        nodeForKey: (k) => Object.entries(nodes).find(([, id]) => b64(id.publicKey) === k)?.[0],
        wireguardKey: (id) => (id in nodes ? b64(nodes[id as keyof typeof nodes].publicKey) : undefined),
        visiblePeers: (id) => visible[id] ?? [],
      },
      observed: () => {},
      now: Date.now,
      link: {
        secret: SECRET,
        locate: (id) => (id !== here && id in nodes ? { address: '127.0.0.1', port: other().port } : undefined),
        onPathTrial: (node, text) => trials.push({ node, text }),
        ...(limits && { limits }),
      },
    });

  /** The node's tunnel to its replica's relay (handshake and one keepalive), as an agent keeps it. */
  const tunnel = async (node: 'a' | 'b', w: Wire, port: UdpPort, index: number) => {
    const init = new Initiator(nodes[node], port.key.publicKey, index);
    w.send(init.createInitiation(), port.port);
    expect(init.consumeResponse((await w.next())!)).toBe(true);
    w.send(init.transport(), port.port);
    expect(init.open((await w.next())!)).toEqual(new Uint8Array(0));
  };

  /** A sender on the link from outside the relays, with its own secret and clock. */
  const outsider = async (secret: string, now = Date.now, limits?: Partial<LinkLimits>) => {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    closers.push(() => socket.close());
    const link = new RelayLink({
      secret,
      locate: (): UdpAddress => ({ address: '127.0.0.1', port: r2.port }),
      send: (p, to) => socket.send(p, to.port, to.address),
      now,
      ...(limits && { limits }),
    });
    return { link };
  };

  const setUp = async (limits?: Partial<LinkLimits>) => {
    const k1 = { ...identity(), publicKeyBase64: '' };
    const k2 = { ...identity(), publicKeyBase64: '' };
    r1 = await UdpPort.bind('127.0.0.1', 0, k1);
    r2 = await UdpPort.bind('127.0.0.1', 0, k2);
    start(r1, 'a', () => r2);
    start(r2, 'b', () => r1, limits);
    wa = await Wire.open();
    wb = await Wire.open();
    await tunnel('a', wa, r1, 11);
    await tunnel('b', wb, r2, 22);
  };

  beforeEach(() => {
    trials.length = 0;
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    wa?.close();
    wb?.close();
    await r1?.close();
    await r2?.close();
  });

  it('carries a handshake and transport both ways between nodes on different replicas, bytes unchanged', async () => {
    await setUp();
    const a = new Initiator(nodes.a, nodes.b.publicKey, 0xa1);
    const init = a.createInitiation();
    wa.send(init, r1.port);
    const arrived = (await wb.next())!;
    expect(arrived).toEqual(init);
    // b answers through its own relay; the route back to a crosses the link.
    const consumed = consumeInitiation(nodes.b, parseInitiation(arrived)!, () => true)!;
    const { message: response } = createResponse(consumed, 0xb2);
    wb.send(response, r2.port);
    const back = (await wa.next())!;
    expect(back).toEqual(response);
    expect(a.consumeResponse(back)).toBe(true);
    const data = a.transport(new TextEncoder().encode('over two relays'));
    wa.send(data, r1.port);
    expect(await wb.next()).toEqual(data);
    // And from b, routed by a's index on b's relay, over the link to a's.
    const reply = new Uint8Array(data);
    new DataView(reply.buffer).setUint32(4, 0xa1, true);
    wb.send(reply, r2.port);
    expect(await wa.next()).toEqual(reply);
    expect(r1.linkStats).toMatchObject({ forged: 0, replayed: 0 });
    expect(r2.linkStats!.received).toBeGreaterThanOrEqual(2);
  });

  it('drops link datagrams not made with the cluster secret, replayed ones, and stale ones', async () => {
    await setUp();
    const data = new Initiator(nodes.a, nodes.b.publicKey, 0xa1);
    const init = () => data.createInitiation();

    const wrong = await outsider('another secret, just as long as the real one is');
    expect(wrong.link.send(LinkKind.datagram, 'a', 'b', init())).toBe(true);
    expect(await wb.next(300)).toBeUndefined();
    expect(r2.linkStats!.forged).toBe(1);

    const late = await outsider(SECRET, () => Date.now() - 60_000);
    late.link.send(LinkKind.datagram, 'a', 'b', init());
    expect(await wb.next(300)).toBeUndefined();
    expect(r2.linkStats!.stale).toBe(1);

    // A genuine one goes through once; the same bytes again do not.
    const captured: Buffer[] = [];
    const tap = createSocket('udp4');
    await new Promise<void>((r) => tap.bind(0, '127.0.0.1', () => r()));
    closers.push(() => tap.close());
    const capturing = new RelayLink({
      secret: SECRET,
      locate: () => ({ address: '127.0.0.1', port: r2.port }),
      send: (p, to) => {
        captured.push(Buffer.from(p));
        tap.send(p, to.port, to.address);
      },
      now: Date.now,
    });
    const genuine = init();
    capturing.send(LinkKind.datagram, 'a', 'b', genuine);
    expect(await wb.next()).toEqual(genuine);
    tap.send(captured[0]!, r2.port, '127.0.0.1');
    expect(await wb.next(300)).toBeUndefined();
    expect(r2.linkStats!.replayed).toBe(1);
  });

  it('forwards no handshake between a pair the policy keeps apart, even from an authentic replica', async () => {
    await setUp();
    const trusted = await outsider(SECRET);
    const fromC = new Initiator(nodes.c, nodes.b.publicKey, 0xc3).createInitiation();
    trusted.link.send(LinkKind.datagram, 'c', 'b', fromC);
    expect(await wb.next(300)).toBeUndefined();
    // Not for b's key at all: refused too.
    const notForB = new Initiator(nodes.a, nodes.c.publicKey, 0xa4).createInitiation();
    trusted.link.send(LinkKind.datagram, 'a', 'b', notForB);
    expect(await wb.next(300)).toBeUndefined();
    expect(r2.linkStats!.received).toBe(2); // authentic, and still dropped by the relay
  });

  it('holds each sending address to its budget', async () => {
    await setUp({ packetsPerSecond: 3 });
    const trusted = await outsider(SECRET);
    const a = new Initiator(nodes.a, nodes.b.publicKey, 0xa1);
    for (let i = 0; i < 10; i++) trusted.link.send(LinkKind.datagram, 'a', 'b', a.createInitiation());
    let arrived = 0;
    while (await wb.next(300)) arrived++;
    expect(arrived).toBeLessThanOrEqual(3);
    expect(arrived).toBeGreaterThanOrEqual(1);
    expect(r2.linkStats!.limited).toBeGreaterThanOrEqual(7);
  });

  it("delivers a path trial to the replica holding the node's stream", async () => {
    await setUp();
    expect(r1.sendPathTrial('b', '{"type":"path-trial"}')).toBe(true);
    expect(r1.sendPathTrial('nobody', '{}')).toBe(false);
    const deadline = Date.now() + 2000;
    while (trials.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(trials).toEqual([{ node: 'b', text: '{"type":"path-trial"}' }]);
  });
});
