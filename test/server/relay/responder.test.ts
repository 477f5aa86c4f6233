import { describe, expect, it } from 'vitest';
import { MessageType } from '../../../server/relay/constants.ts';
import { messageType } from '../../../server/relay/messages.ts';
import { Responder } from '../../../server/relay/responder.ts';
import type { UdpAddress } from '../../../server/relay/udp-address.ts';
import { identity, Initiator, tai64n } from './initiator.ts';

/** The server's responder driven over bytes by a whitepaper initiator; time is ours to move. */
function setUp(options: { underLoad?: () => boolean } = {}) {
  const server = identity();
  const alice = identity();
  const keyB64 = (k: Uint8Array) => Buffer.from(k).toString('base64');
  const registered = new Map([[keyB64(alice.publicKey), 'n-alice']]);
  const sent: Array<{ packet: Uint8Array; to: UdpAddress }> = [];
  const authenticated: Array<{ nodeId: string; from: string }> = [];
  let clock = 1_000_000;
  let nextIndex = 100;
  const responder = new Responder({
    identity: server,
    nodeForKey: (k) => registered.get(k),
    send: (packet, to) => sent.push({ packet, to }),
    now: () => clock,
    underLoad: options.underLoad ?? (() => false),
    newIndex: () => nextIndex++,
    onAuthenticated: (nodeId, from) => authenticated.push({ nodeId, from: `${from.address}:${from.port}` }),
  });
  const from: UdpAddress = { address: '203.0.113.7', port: 41000 };
  return {
    server,
    alice,
    responder,
    sent,
    authenticated,
    from,
    registered,
    advance: (ms: number) => (clock += ms),
    now: () => clock,
    /** Initiation, response and the initiator's first (keepalive) packet. */
    handshake(initiator = new Initiator(alice, server.publicKey)) {
      expect(responder.handleInitiation(initiator.createInitiation(tai64n(clock)), from)).toBe('handled');
      expect(initiator.consumeResponse(sent.at(-1)!.packet)).toBe(true);
      return initiator;
    },
  };
}

describe("the server's WireGuard responder", () => {
  it("answers a registered node's initiation, and its keepalive with a keepalive it can open", () => {
    const t = setUp();
    const initiator = t.handshake();
    expect(t.sent.at(-1)!.to).toEqual(t.from);
    expect(t.authenticated).toEqual([]); // an initiation alone proves nothing about the address

    expect(t.responder.handleTransport(initiator.transport(), t.from)).toBe('handled');
    expect(t.authenticated).toEqual([{ nodeId: 'n-alice', from: '203.0.113.7:41000' }]);
    const reply = t.sent.at(-1)!.packet;
    expect(reply).toHaveLength(32);
    expect(initiator.open(reply)).toEqual(new Uint8Array(0));
  });

  it('replies to keepalives at most once a second, but accepts every authentic packet', () => {
    const t = setUp();
    const initiator = t.handshake();
    t.responder.handleTransport(initiator.transport(), t.from);
    const before = t.sent.length;
    t.advance(300);
    expect(t.responder.handleTransport(initiator.transport(), t.from)).toBe('handled');
    expect(t.sent.length).toBe(before);
    t.advance(800);
    t.responder.handleTransport(initiator.transport(), t.from);
    expect(t.sent.length).toBe(before + 1);
    expect(t.authenticated).toHaveLength(3);
  });

  it('answers the first packet of a new session at once, whatever it answered a moment ago', () => {
    const t = setUp();
    const first = t.handshake(new Initiator(t.alice, t.server.publicKey, 1));
    t.responder.handleTransport(first.transport(), t.from);
    t.advance(100);
    const second = t.handshake(new Initiator(t.alice, t.server.publicKey, 2));
    const before = t.sent.length;
    t.responder.handleTransport(second.transport(), t.from);
    expect(t.sent.length).toBe(before + 1);
    expect(second.open(t.sent.at(-1)!.packet)).toEqual(new Uint8Array(0));
  });

  it('refuses a replayed transport packet and a forged one', () => {
    const t = setUp();
    const initiator = t.handshake();
    const packet = initiator.transport();
    expect(t.responder.handleTransport(packet, t.from)).toBe('handled');
    expect(t.responder.handleTransport(packet, t.from)).toBe('not-mine');
    const forged = initiator.transport();
    forged[20]! ^= 1;
    expect(t.responder.handleTransport(forged, t.from)).toBe('not-mine');
    expect(t.authenticated).toHaveLength(1);
  });

  it('ignores initiations from keys that are not registered nodes', () => {
    const t = setUp();
    const stranger = new Initiator(identity(), t.server.publicKey);
    expect(t.responder.handleInitiation(stranger.createInitiation(), t.from)).toBe('handled');
    expect(t.sent).toEqual([]);
  });

  it("leaves initiations addressed to other keys to the relay (mac1 is not under the server's key)", () => {
    const t = setUp();
    const toSomeoneElse = new Initiator(t.alice, identity().publicKey);
    expect(t.responder.handleInitiation(toSomeoneElse.createInitiation(), t.from)).toBe('not-mine');
  });

  it('drops a replayed initiation (TAI64N not newer) and one that comes too soon after the last', () => {
    const t = setUp();
    const initiator = new Initiator(t.alice, t.server.publicKey);
    const first = initiator.createInitiation(tai64n(t.now()));
    t.responder.handleInitiation(first, t.from);
    expect(t.sent).toHaveLength(1);
    t.advance(5_000);
    t.responder.handleInitiation(first, t.from); // replayed bytes
    t.responder.handleInitiation(initiator.createInitiation(tai64n(t.now() - 10_000)), t.from); // older timestamp
    expect(t.sent).toHaveLength(1);
    t.responder.handleInitiation(initiator.createInitiation(tai64n(t.now())), t.from);
    expect(t.sent).toHaveLength(2);
    t.advance(5); // flood: within 20 ms of the last consumed initiation
    t.responder.handleInitiation(initiator.createInitiation(tai64n(t.now() + 1)), t.from);
    expect(t.sent).toHaveLength(2);
  });

  it('under load answers with a cookie reply, and takes the retry that carries mac2 for the same address', () => {
    const t = setUp({ underLoad: () => true });
    const initiator = new Initiator(t.alice, t.server.publicKey, 55);
    t.responder.handleInitiation(initiator.createInitiation(tai64n(t.now())), t.from);
    const reply = t.sent.at(-1)!.packet;
    expect(reply).toHaveLength(64);
    expect(messageType(reply)).toBe(MessageType.cookieReply);
    expect(initiator.consumeCookieReply(reply)).toBe(true);

    // The cookie is bound to the source address: from elsewhere it is worth nothing.
    t.advance(100);
    t.responder.handleInitiation(initiator.createInitiation(tai64n(t.now())), { address: '198.51.100.1', port: 41000 });
    expect(messageType(t.sent.at(-1)!.packet)).toBe(MessageType.cookieReply);

    t.advance(100);
    t.responder.handleInitiation(initiator.createInitiation(tai64n(t.now())), t.from);
    expect(messageType(t.sent.at(-1)!.packet)).toBe(MessageType.response);
    expect(initiator.consumeResponse(t.sent.at(-1)!.packet)).toBe(true);
  });

  it('a rekey replaces the session once the new one is confirmed; the old one still opens in-flight packets', () => {
    const t = setUp();
    const first = t.handshake(new Initiator(t.alice, t.server.publicKey, 1));
    t.responder.handleTransport(first.transport(), t.from);
    const late = first.transport();
    t.advance(120_000);
    const second = t.handshake(new Initiator(t.alice, t.server.publicKey, 2));
    expect(t.responder.handleTransport(second.transport(), t.from)).toBe('handled');
    expect(t.responder.handleTransport(late, t.from)).toBe('handled');
    expect(t.responder.sessionCount).toBe(2);
  });

  it('sessions end REJECT_AFTER_TIME (180 s) after the handshake; the sweep forgets them', () => {
    const t = setUp();
    const initiator = t.handshake();
    t.responder.handleTransport(initiator.transport(), t.from);
    t.advance(180_000);
    expect(t.responder.handleTransport(initiator.transport(), t.from)).toBe('not-mine');
    t.responder.sweep();
    expect(t.responder.sessionCount).toBe(0);
  });

  it('a node removed from the registry loses its sessions at the next sweep', () => {
    const t = setUp();
    const initiator = t.handshake();
    t.responder.handleTransport(initiator.transport(), t.from);
    t.registered.clear();
    t.responder.sweep();
    expect(t.responder.handleTransport(initiator.transport(), t.from)).toBe('not-mine');
  });
});
