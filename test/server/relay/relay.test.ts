import { describe, expect, it } from 'vitest';
import { consumeInitiation, createResponse } from '../../../server/relay/handshake.ts';
import { parseInitiation } from '../../../server/relay/messages.ts';
import { Reflector } from '../../../server/relay/reflector.ts';
import { Relay, type RelayLimits } from '../../../server/relay/relay.ts';
import type { UdpAddress } from '../../../server/relay/udp-address.ts';
import { identity, Initiator, tai64n } from './initiator.ts';

/**
 * The relay between nodes whose addresses the reflector knows. Nodes are real key pairs; the
 * handshake bytes come from the whitepaper initiator and the server's responder code, exactly
 * what two WireGuard peers would exchange through the server.
 */
function setUp(limits: Partial<RelayLimits> = {}) {
  const keys = { a: identity(), b: identity(), c: identity() };
  const addr: Record<keyof typeof keys, UdpAddress> = {
    a: { address: '198.51.100.1', port: 1001 },
    b: { address: '198.51.100.2', port: 1002 },
    c: { address: '198.51.100.3', port: 1003 },
  };
  const visible = new Map<string, string[]>([
    ['a', ['b']],
    ['b', ['a']],
    ['c', []],
  ]);
  const sent: Array<{ packet: Uint8Array; to: string }> = [];
  let clock = 0;
  const reflector = new Reflector(() => {});
  for (const n of ['a', 'b', 'c'] as const) reflector.observe(n, addr[n], clock);
  const relay = new Relay({
    directory: {
      visiblePeers: (id) => visible.get(id) ?? [],
      wireguardKey: (id) =>
        id in keys ? Buffer.from(keys[id as keyof typeof keys].publicKey).toString('base64') : undefined,
    },
    reflector,
    send: (packet, to) => sent.push({ packet, to: `${to.address}:${to.port}` }),
    now: () => clock,
    limits,
  });
  const to = (n: keyof typeof keys) => `${addr[n].address}:${addr[n].port}`;
  /** A full handshake from `from` to `dest` through the relay; returns both ends' state. */
  const handshake = (from: 'a' | 'c', dest: 'b' | 'a', senderIndex = 11, responderIndex = 22) => {
    const initiator = new Initiator(keys[from], keys[dest].publicKey, senderIndex);
    const init = initiator.createInitiation(tai64n(clock));
    const verdict = relay.initiation(init, addr[from]);
    if (verdict !== 'forwarded') return { verdict, initiator };
    const consumed = consumeInitiation(keys[dest], parseInitiation(sent.at(-1)!.packet)!, () => true)!;
    const response = createResponse(consumed, responderIndex);
    const back = relay.response(response.message, addr[dest]);
    if (back === 'forwarded') initiator.consumeResponse(sent.at(-1)!.packet);
    return { verdict: back, initiator, responder: response };
  };
  return { keys, addr, visible, sent, relay, reflector, to, handshake, advance: (ms: number) => (clock += ms) };
}

describe('the relay', () => {
  it("finds the destination of an initiation by mac1 among the sender's visible peers and forwards it unchanged", () => {
    const t = setUp();
    const init = new Initiator(t.keys.a, t.keys.b.publicKey, 11).createInitiation();
    expect(t.relay.initiation(init, t.addr.a)).toBe('forwarded');
    expect(t.sent).toEqual([{ packet: init, to: t.to('b') }]);
  });

  it('routes the response back by receiver index, then transport both ways', () => {
    const t = setUp();
    const { verdict, initiator } = t.handshake('a', 'b');
    expect(verdict).toBe('forwarded');
    expect(t.sent.at(-1)!.to).toBe(t.to('a'));
    expect(initiator.keys).toBeDefined(); // the response arrived intact: a has a session with b

    const data = initiator.transport(new TextEncoder().encode('ping'));
    expect(t.relay.byIndex(data, t.addr.a)).toBe('forwarded');
    expect(t.sent.at(-1)).toEqual({ packet: data, to: t.to('b') });
    const reply = new Uint8Array(48);
    reply.set([4, 0, 0, 0, 11, 0, 0, 0]); // receiver index 11: a's
    expect(t.relay.byIndex(reply, t.addr.b)).toBe('forwarded');
    expect(t.sent.at(-1)!.to).toBe(t.to('a'));
  });

  it('never forwards between nodes the policy keeps apart, whichever side starts', () => {
    const t = setUp();
    expect(t.handshake('c', 'a').verdict).toBe('not-allowed');
    const init = new Initiator(t.keys.a, t.keys.c.publicKey).createInitiation();
    expect(t.relay.initiation(init, t.addr.a)).toBe('not-allowed');
    expect(t.sent).toEqual([]);
  });

  it('forwards nothing from addresses no authenticated node was seen at', () => {
    const t = setUp();
    const stranger = { address: '203.0.113.9', port: 5 };
    expect(t.relay.initiation(new Initiator(t.keys.a, t.keys.b.publicKey).createInitiation(), stranger)).toBe('held');
    t.advance(4_500);
    t.relay.sweep();
    t.relay.seen('a', stranger); // too late: the held initiation has expired
    expect(t.sent).toEqual([]);
    t.handshake('a', 'b');
    const data = new Uint8Array(32);
    data.set([4, 0, 0, 0, 22, 0, 0, 0]);
    expect(t.relay.byIndex(data, stranger)).toBe('no-sender');
  });

  it('holds an initiation that arrives before its sender authenticated, and forwards it once the sender is seen there', () => {
    const t = setUp();
    const newAddress = { address: '192.0.2.7', port: 4000 };
    const init = new Initiator(t.keys.a, t.keys.b.publicKey, 11).createInitiation();
    expect(t.relay.initiation(init, newAddress)).toBe('held');
    expect(t.sent).toEqual([]);
    t.advance(500);
    t.reflector.observe('a', newAddress, 500);
    t.relay.seen('a', newAddress);
    expect(t.sent).toEqual([{ packet: init, to: t.to('b') }]);
  });

  it('holds an initiation whose destination has not been seen yet, until it is', () => {
    const t = setUp();
    t.reflector.forget('b');
    const init = new Initiator(t.keys.a, t.keys.b.publicKey, 11).createInitiation();
    expect(t.relay.initiation(init, t.addr.a)).toBe('held');
    t.reflector.observe('b', t.addr.b, 0);
    t.relay.seen('b', t.addr.b);
    expect(t.sent).toEqual([{ packet: init, to: t.to('b') }]);
  });

  it('of two initiations crossing between one pair, forwards only the first, so one handshake completes', () => {
    const t = setUp();
    const fromA = new Initiator(t.keys.a, t.keys.b.publicKey, 11).createInitiation();
    const fromB = new Initiator(t.keys.b, t.keys.a.publicKey, 22).createInitiation();
    expect(t.relay.initiation(fromA, t.addr.a)).toBe('forwarded');
    expect(t.relay.initiation(fromB, t.addr.b)).toBe('crossed');
    t.advance(1_000); // no longer in flight: b may start its own handshake (a rekey, a retry)
    expect(t.relay.initiation(fromB, t.addr.b)).toBe('forwarded');
  });

  it('an answered initiation is no longer in flight: the other side may initiate at once', () => {
    const t = setUp();
    expect(t.handshake('a', 'b').verdict).toBe('forwarded');
    const fromB = new Initiator(t.keys.b, t.keys.a.publicKey, 33).createInitiation();
    expect(t.relay.initiation(fromB, t.addr.b)).toBe('forwarded');
  });

  it('holds only a few initiations per awaited address', () => {
    const t = setUp();
    const nowhere = { address: '203.0.113.9', port: 5 };
    const verdicts = Array.from({ length: 6 }, (_, i) =>
      t.relay.initiation(new Initiator(t.keys.a, t.keys.b.publicKey, i).createInitiation(), nowhere),
    );
    expect(verdicts).toEqual(['held', 'held', 'held', 'held', 'no-sender', 'no-sender']);
  });

  it('routes an index only from the peer it was set up with: a third node using it gets nothing', () => {
    const t = setUp();
    t.visible.set('c', ['b']);
    t.handshake('a', 'b');
    const data = new Uint8Array(32);
    data.set([4, 0, 0, 0, 22, 0, 0, 0]); // b's index, sent by c
    expect(t.relay.byIndex(data, t.addr.c)).toBe('no-route');
  });

  it('refuses a response whose mac1 is not for the initiator it claims to answer', () => {
    const t = setUp();
    const init = new Initiator(t.keys.a, t.keys.b.publicKey, 11).createInitiation();
    t.relay.initiation(init, t.addr.a);
    const consumed = consumeInitiation(t.keys.b, parseInitiation(init)!, () => true)!;
    const { message } = createResponse(consumed, 22);
    message[70]! ^= 1; // inside mac1
    expect(t.relay.response(message, t.addr.b)).toBe('no-route');
  });

  it("drops a pair's routes at the sweep after the policy stops letting them see each other", () => {
    const t = setUp();
    const { initiator } = t.handshake('a', 'b');
    t.visible.set('a', []);
    t.visible.set('b', []);
    t.relay.sweep();
    expect(t.relay.byIndex(initiator.transport(), t.addr.a)).toBe('no-route');
  });

  it('routes live as long as a session may (REJECT_AFTER_TIME plus slack), then expire', () => {
    const t = setUp();
    const { initiator } = t.handshake('a', 'b');
    t.advance(185_000);
    expect(t.relay.byIndex(initiator.transport(), t.addr.a)).toBe('forwarded');
    t.advance(10_000);
    expect(t.relay.byIndex(initiator.transport(), t.addr.a)).toBe('no-route');
  });

  it("limits each sending node's relayed bytes and initiations with token buckets", () => {
    const t = setUp({ bytesPerSecond: 1_000, initiationsPerSecond: 2 });
    const { initiator } = t.handshake('a', 'b', 11, 22);
    // a has sent its 148-byte initiation; each of these is 332 bytes on the wire.
    const packet = () => initiator.transport(new Uint8Array(300));
    expect(t.relay.byIndex(packet(), t.addr.a)).toBe('forwarded');
    expect(t.relay.byIndex(packet(), t.addr.a)).toBe('forwarded');
    expect(t.relay.byIndex(packet(), t.addr.a)).toBe('rate-limited');
    t.advance(1_000);
    expect(t.relay.byIndex(packet(), t.addr.a)).toBe('forwarded');

    const init = () => t.relay.initiation(new Initiator(t.keys.a, t.keys.b.publicKey, 99).createInitiation(), t.addr.a);
    // Two per second: the bucket refilled during the second above, so two pass and the third waits.
    expect(init()).toBe('forwarded');
    expect(init()).toBe('forwarded');
    expect(init()).toBe('rate-limited');
    // b's allowance is its own (once a's initiations are no longer in flight).
    t.advance(1_000);
    expect(t.relay.initiation(new Initiator(t.keys.b, t.keys.a.publicKey, 98).createInitiation(), t.addr.b)).toBe(
      'forwarded',
    );
  });

  it('follows a node to its new address once the reflector saw it there', () => {
    const t = setUp();
    const { initiator } = t.handshake('a', 'b');
    const moved = { address: '192.0.2.50', port: 7000 };
    t.reflector.observe('b', moved, 0);
    expect(t.relay.byIndex(initiator.transport(), t.addr.a)).toBe('forwarded');
    expect(t.sent.at(-1)!.to).toBe('192.0.2.50:7000');
  });
});
