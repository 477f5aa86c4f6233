import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Backoff } from '../../../client/control/backoff.ts';
import { WsBridge } from '../../../client/paths/ws-bridge.ts';
import { publicKeyOf } from '../../../client/wireguard/keys.ts';
import { CloseCode } from '../../../protocol/map.ts';
import { SERVER_KEY_FILE } from '../../../server/relay/server-key.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';
import { Initiator } from '../../server/relay/initiator.ts';

const PATH = '/api/v1/relay';
const keyBytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

/** A UDP socket on loopback playing WireGuard's: what arrives, with where it came from. */
class LocalSocket {
  readonly inbox: Array<{ packet: Uint8Array; from: string }> = [];
  private constructor(readonly socket: Socket) {
    socket.on('message', (m, r) => this.inbox.push({ packet: new Uint8Array(m), from: `${r.address}:${r.port}` }));
  }
  static async open(): Promise<LocalSocket> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    return new LocalSocket(socket);
  }
  get port(): number {
    return this.socket.address().port;
  }
  sendTo(endpoint: string, packet: Uint8Array): void {
    const [host, port] = endpoint.split(':');
    this.socket.send(packet, Number(port), host);
  }
  async next(ms = 2_000): Promise<{ packet: Uint8Array; from: string } | undefined> {
    const deadline = Date.now() + ms;
    while (this.inbox.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    return this.inbox.shift();
  }
}

async function until(ok: () => boolean, what: string, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('the WebSocket bridge (agent side), against a real server', () => {
  let t: TestServer;
  let a: TestAgent;
  let serverKey: Uint8Array;
  let wireguard: LocalSocket;
  let bridge: WsBridge;

  beforeAll(async () => {
    t = await startTestServer();
    a = new TestAgent(t.url, 'a');
    await a.join(await t.preAuthKey());
    serverKey = keyBytes(publicKeyOf(readFileSync(join(t.dataDir, SERVER_KEY_FILE), 'utf8').trim()));
    wireguard = await LocalSocket.open();
    bridge = await WsBridge.open({
      url: new URL(PATH, t.url.replace(/^http/, 'ws')),
      authorization: (method, path) => a.control.proof(method, path),
      wireguardPort: wireguard.port,
      backoff: new Backoff(10, 50),
    });
  });
  afterAll(async () => {
    await bridge?.close();
    wireguard?.socket.close();
    await t?.stop();
  });

  it('is a UDP endpoint on loopback through which WireGuard completes a handshake with the server', async () => {
    expect(bridge.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    await until(() => bridge.connected, 'the bridge to connect');
    const initiator = new Initiator(
      { privateKey: keyBytes(a.wireguard.privateKey), publicKey: keyBytes(a.wireguard.publicKey) },
      serverKey,
      5,
    );
    wireguard.sendTo(bridge.endpoint, initiator.createInitiation());
    const response = await wireguard.next();
    // Everything comes back from the bridge's endpoint: that is the relay as WireGuard sees it.
    expect(response?.from).toBe(bridge.endpoint);
    expect(initiator.consumeResponse(response!.packet)).toBe(true);
    wireguard.sendTo(bridge.endpoint, initiator.transport());
    expect(initiator.open((await wireguard.next())!.packet)).toEqual(new Uint8Array(0));
    expect(bridge.counts).toMatchObject({ toServer: 2, fromServer: 2 });
  });

  it("bridges nothing from a local port other than WireGuard's", async () => {
    const intruder = await LocalSocket.open();
    const dropped = bridge.counts.dropped;
    const sent = bridge.counts.toServer;
    intruder.sendTo(bridge.endpoint, new Uint8Array(148).fill(1));
    await until(() => bridge.counts.dropped > dropped, 'the datagram to be dropped');
    expect(bridge.counts.toServer).toBe(sent);
    intruder.socket.close();
  });

  it('comes back by itself when the server ends the connection', async () => {
    await until(() => bridge.connected, 'the bridge to connect');
    // Another connection of the same node replaces the bridge's; the bridge reconnects and in
    // turn replaces that one.
    const other = new WebSocket(new URL(PATH, t.url.replace(/^http/, 'ws')), {
      headers: { authorization: a.control.proof('GET', PATH) },
    });
    const closed = new Promise<number>((resolve) => other.once('close', (code) => resolve(code)));
    expect(await closed).toBe(CloseCode.replaced);
    await until(() => bridge.connected, 'the bridge to reconnect');
  });
});
