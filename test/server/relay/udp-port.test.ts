import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestAgent, TestServer } from '../../support/server.ts';
import { keyBytes, startRelayNetwork } from './relay-network.ts';
import { identity, Initiator } from './initiator.ts';

/** A node's WireGuard socket, played by a UDP socket on loopback. */
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
  get port(): number {
    return this.socket.address().port;
  }
  send(packet: Uint8Array, port: number): void {
    this.socket.send(packet, port, '127.0.0.1');
  }
  /** The next datagram, or undefined if none arrives within `ms`. */
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

describe("the server's UDP port (in-process server, loopback)", () => {
  let t: TestServer;
  let a: TestAgent;
  let b: TestAgent;
  let serverKey: Uint8Array;
  let port: number;
  const wires: Wire[] = [];
  const wire = async () => {
    const w = await Wire.open();
    wires.push(w);
    return w;
  };
  /** Handshake with the server and one keepalive: what an agent's persistent keepalive does. */
  const tunnel = async (agent: TestAgent, w: Wire, index: number) => {
    const initiator = new Initiator(
      { privateKey: keyBytes(agent.wireguard.privateKey), publicKey: keyBytes(agent.wireguard.publicKey) },
      serverKey,
      index,
    );
    w.send(initiator.createInitiation(), port);
    expect(initiator.consumeResponse((await w.next())!)).toBe(true);
    w.send(initiator.transport(), port);
    expect(initiator.open((await w.next())!)).toEqual(new Uint8Array(0));
    return initiator;
  };

  beforeAll(async () => {
    ({ t, a, b, serverKey } = await startRelayNetwork());
    port = t.server.relay!.port;
  });
  afterAll(async () => {
    for (const w of wires) w.close();
    a?.stop();
    b?.stop();
    await t?.stop();
  });

  it("every map names the server's WireGuard key, its UDP port and endpoint", async () => {
    await a.until((x) => x.map.relay !== undefined, 'a map');
    expect(a.map.relay).toMatchObject({
      udpPort: port,
      wireguardKey: Buffer.from(serverKey).toString('base64'),
      endpoint: `127.0.0.1:${port}`,
    });
  });

  it('a registered node completes a handshake; its peers and itself then see its observed address', async () => {
    const w = await wire();
    await tunnel(a, w, 7);
    const expected = `127.0.0.1:${w.port}`;
    await b.until(
      (x) => [...x.map.peers.values()].some((p) => p.name === 'a' && p.observedEndpoint === expected),
      "a's observed endpoint at b",
    );
    await a.until((x) => x.map.self?.observedEndpoint === expected, "a's own observed endpoint");
    expect(t.server.relay!.observedEndpoint(a.node!.id)).toBe(expected);
    // The relay's totals reach /metrics.
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const value = (name: string) =>
      Number(
        metrics
          .split('\n')
          .find((l) => l.startsWith(`${name} `))
          ?.split(' ')
          .pop(),
      );
    expect(value('trellis_relay_handshakes_total')).toBeGreaterThanOrEqual(1);
    expect(value('trellis_relay_sessions')).toBeGreaterThanOrEqual(1);
    expect(value('trellis_relay_dropped_total')).toBeGreaterThanOrEqual(0);
  });

  it('a key that is not a registered node gets no answer at all', async () => {
    const w = await wire();
    const stranger = new Initiator(identity(), serverKey, 3);
    w.send(stranger.createInitiation(), port);
    expect(await w.next(300)).toBeUndefined();
  });

  it("relays an initiation from one node to another by mac1, bytes unchanged, from the server's port", async () => {
    const wa = await wire();
    const wb = await wire();
    await tunnel(a, wa, 1);
    await tunnel(b, wb, 2);
    const toB = new Initiator(
      { privateKey: keyBytes(a.wireguard.privateKey), publicKey: keyBytes(a.wireguard.publicKey) },
      keyBytes(b.wireguard.publicKey),
      99,
    );
    const init = toB.createInitiation();
    wa.send(init, port);
    expect(await wb.next()).toEqual(init);
  });
});
