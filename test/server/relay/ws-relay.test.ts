import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode } from '../../../protocol/map.ts';
import { consumeInitiation, createResponse } from '../../../server/relay/handshake.ts';
import { encodeTransport, parseInitiation } from '../../../server/relay/messages.ts';
import { aeadSeal } from '../../../server/relay/primitives.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';
import { keyBytes, startRelayNetwork } from './relay-network.ts';
import { Initiator } from './initiator.ts';

const PATH = '/api/v1/relay';
const me = (agent: TestAgent) => ({
  privateKey: keyBytes(agent.wireguard.privateKey),
  publicKey: keyBytes(agent.wireguard.publicKey),
});

/** Datagrams that arrive on a socket (UDP) or a connection (WebSocket), in order. */
class Inbox {
  private readonly items: Uint8Array[] = [];
  private waiter?: () => void;
  push(packet: Uint8Array): void {
    this.items.push(packet);
    this.waiter?.();
  }
  async next(ms = 2_000): Promise<Uint8Array | undefined> {
    const deadline = Date.now() + ms;
    while (this.items.length === 0 && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, deadline - Date.now());
        this.waiter = () => (clearTimeout(t), r());
      });
    }
    return this.items.shift();
  }
}

/** A node's WireGuard socket on loopback, talking to the relay's UDP port. */
class UdpWire {
  readonly inbox = new Inbox();
  private constructor(
    private readonly socket: Socket,
    private readonly port: number,
  ) {
    socket.on('message', (m) => this.inbox.push(new Uint8Array(m)));
  }
  static async open(port: number): Promise<UdpWire> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    return new UdpWire(socket, port);
  }
  get local(): string {
    return `127.0.0.1:${this.socket.address().port}`;
  }
  send(packet: Uint8Array): void {
    this.socket.send(packet, this.port, '127.0.0.1');
  }
  close(): void {
    this.socket.close();
  }
}

/** The same, over the WebSocket relay: one binary message per datagram. */
class WsWire {
  readonly inbox = new Inbox();
  closed?: { code: number; reason: string };
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => isBinary && this.inbox.push(new Uint8Array(data as Buffer)));
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }
  static open(url: string, agent: TestAgent): Promise<WsWire> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${PATH}`, {
      headers: { authorization: agent.control.proof('GET', PATH) },
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new WsWire(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }
  send(packet: Uint8Array): void {
    this.ws.send(packet, { binary: true });
  }
  async closedWithin(ms: number): Promise<{ code: number; reason: string } | undefined> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.closed;
  }
}

interface Wire {
  inbox: Inbox;
  send(packet: Uint8Array): void;
}

describe("the relay over a WebSocket on the control server's port", () => {
  let t: TestServer;
  let a: TestAgent;
  let b: TestAgent;
  let serverKey: Uint8Array;
  const closers: Array<() => void> = [];

  /** What an agent's server peer does: a handshake with the server, then one keepalive and its answer. */
  const tunnel = async (agent: TestAgent, wire: Wire, index: number) => {
    const initiator = new Initiator(me(agent), serverKey, index);
    wire.send(initiator.createInitiation());
    expect(initiator.consumeResponse((await wire.inbox.next())!), `${agent.hostname}: the server's response`).toBe(
      true,
    );
    wire.send(initiator.transport());
    expect(initiator.open((await wire.inbox.next())!), `${agent.hostname}: the server's keepalive`).toEqual(
      new Uint8Array(0),
    );
  };
  const wsWire = async (agent: TestAgent) => {
    const w = await WsWire.open(t.url, agent);
    closers.push(() => w.ws.terminate());
    return w;
  };
  const udpWire = async () => {
    const w = await UdpWire.open(t.server.relay!.port);
    closers.push(() => w.close());
    return w;
  };

  beforeAll(async () => {
    ({ t, a, b, serverKey } = await startRelayNetwork());
  });
  afterAll(async () => {
    for (const close of closers) close();
    a?.stop();
    b?.stop();
    await t?.stop();
  });

  it('is announced in every map, and refuses an upgrade without a machine-key proof', async () => {
    await a.until((x) => x.map.relay !== undefined, 'a map');
    expect(a.map.relay?.wsPath).toBe(PATH);
    const refused = new WebSocket(`${t.url.replace(/^http/, 'ws')}${PATH}`);
    const status = await new Promise<number>((resolve) => {
      refused.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      refused.once('open', () => resolve(101));
      refused.once('error', () => undefined);
    });
    expect(status).toBe(401);
    // The map stream still has its own path; anything else is not found.
    const other = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/api/v1/nothing`, {
        headers: { authorization: a.control.proof('GET', '/api/v1/nothing') },
      });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', () => undefined);
    });
    expect(other).toBe(404);
  });

  it('a node on the WebSocket talks to the server as a peer; its connection is never published as its endpoint', async () => {
    const wa = await wsWire(a);
    const wb = await udpWire();
    await tunnel(a, wa, 1);
    await tunnel(b, wb, 2);
    // b's NAT mapping is published as usual; a's connection is no address a peer could use.
    await a.until(
      (x) => [...x.map.peers.values()].some((p) => p.name === 'b' && p.observedEndpoint === wb.local),
      "b's observed endpoint at a",
    );
    expect(t.server.relay!.observedEndpoint(a.node!.id)).toBeUndefined();
    expect([...b.map.peers.values()].find((p) => p.name === 'a')?.observedEndpoint).toBeUndefined();
    expect(a.map.self?.observedEndpoint).toBeUndefined();
  });

  it('a node on the WebSocket and a node on UDP complete a relayed WireGuard handshake and exchange packets both ways', async () => {
    const wa = await wsWire(a);
    const wb = await udpWire();
    await tunnel(a, wa, 3);
    await tunnel(b, wb, 4);
    // a initiates to b through the relay: bytes unchanged, out of the server's UDP port.
    const toB = new Initiator(me(a), keyBytes(b.wireguard.publicKey), 77);
    const init = toB.createInitiation();
    wa.send(init);
    const arrived = (await wb.inbox.next())!;
    expect(arrived).toEqual(init);
    // b answers over UDP; the response comes back to a as one binary message.
    const consumed = consumeInitiation(me(b), parseInitiation(arrived)!, () => true)!;
    const response = createResponse(consumed, 88);
    wb.send(response.message);
    expect(toB.consumeResponse((await wa.inbox.next())!)).toBe(true);
    // Transport both ways, routed by receiver index.
    const data = toB.transport(new TextEncoder().encode('over the websocket'));
    wa.send(data);
    expect(await wb.inbox.next()).toEqual(data);
    const reply = new TextEncoder().encode('and back');
    wb.send(
      encodeTransport({
        receiver: 77,
        counter: 0n,
        ciphertext: aeadSeal(response.keys.send, 0n, reply, new Uint8Array(0)),
      }),
    );
    expect(toB.open((await wa.inbox.next())!), "b's reply, decrypted by a").toEqual(reply);
  });

  it('closes a connection that sends text, or a frame larger than a datagram', async () => {
    const text = await wsWire(a);
    text.ws.send('hello');
    expect((await text.closedWithin(2_000))?.code).toBe(1003);
    const big = await wsWire(a);
    big.send(new Uint8Array(65_536));
    expect((await big.closedWithin(2_000))?.code).toBe(1009);
  });

  it("a node's new connection replaces its old one", async () => {
    const first = await wsWire(b);
    const second = await wsWire(b);
    expect((await first.closedWithin(2_000))?.code).toBe(CloseCode.replaced);
    await tunnel(b, second, 5);
  });

  it('closes its connections when the server shuts down', async () => {
    const own = await startTestServer();
    const c = new TestAgent(own.url, 'c');
    await c.join(await own.preAuthKey());
    const wc = await WsWire.open(own.url, c);
    await own.stop();
    expect((await wc.closedWithin(3_000))?.code).toBe(CloseCode.shuttingDown);
  });
});
