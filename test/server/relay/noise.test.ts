import { describe, expect, it } from 'vitest';
import { consumeInitiation, createResponse } from '../../../server/relay/handshake.ts';
import { Keypair } from '../../../server/relay/keypair.ts';
import { parseInitiation, parseTransport } from '../../../server/relay/messages.ts';
import { hash, INITIAL_CHAIN_KEY, INITIAL_HASH, kdf, mac, utf8 } from '../../../server/relay/primitives.ts';
import { identity, Initiator, tai64n } from './initiator.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (...n: number[]) => new Uint8Array(n);

describe('Noise_IKpsk2 primitives', () => {
  it('HASH is BLAKE2s-256 (RFC 7693 appendix B: "abc")', () => {
    expect(hex(hash(utf8('abc')))).toBe('508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982');
  });

  it('the initial chaining key and hash match the values other implementations hard-code (boringtun)', () => {
    expect([...INITIAL_CHAIN_KEY]).toEqual([
      ...bytes(
        96,
        226,
        109,
        174,
        243,
        39,
        239,
        192,
        46,
        195,
        53,
        226,
        160,
        37,
        210,
        208,
        22,
        235,
        66,
        6,
        248,
        114,
        119,
        245,
        45,
        56,
        209,
        152,
        139,
        120,
        205,
        54,
      ),
    ]);
    expect([...INITIAL_HASH]).toEqual([
      ...bytes(
        34,
        17,
        179,
        97,
        8,
        26,
        197,
        102,
        105,
        18,
        67,
        219,
        69,
        138,
        213,
        50,
        45,
        156,
        108,
        102,
        34,
        147,
        232,
        183,
        14,
        225,
        156,
        101,
        186,
        7,
        158,
        243,
      ),
    ]);
  });

  it('MAC is 16 bytes of keyed BLAKE2s and depends on the key', () => {
    const a = mac(new Uint8Array(32).fill(1), utf8('m'));
    expect(a).toHaveLength(16);
    expect(hex(a)).not.toBe(hex(mac(new Uint8Array(32).fill(2), utf8('m'))));
  });

  it('KDF outputs chain: KDF2 starts with KDF1, KDF3 with KDF2', () => {
    const key = new Uint8Array(32).fill(7);
    const input = utf8('input');
    const [a1] = kdf(1, key, input);
    const [b1, b2] = kdf(2, key, input);
    const [c1, c2, c3] = kdf(3, key, input);
    expect(hex(b1!)).toBe(hex(a1!));
    expect(hex(c1!)).toBe(hex(b1!));
    expect(hex(c2!)).toBe(hex(b2!));
    expect(new Set([hex(c1!), hex(c2!), hex(c3!)]).size).toBe(3);
  });
});

describe('the responder half of the handshake, against an initiator written from the whitepaper', () => {
  const server = identity();
  const client = identity();

  it('decrypts who initiated and when, and both sides derive mirrored transport keys', () => {
    const initiator = new Initiator(client, server.publicKey, 77);
    const when = tai64n(1_700_000_000_123);
    const consumed = consumeInitiation(server, parseInitiation(initiator.createInitiation(when))!, () => true)!;
    expect(hex(consumed.peerPublicKey)).toBe(hex(client.publicKey));
    expect(hex(consumed.timestamp)).toBe(hex(when));
    expect(consumed.senderIndex).toBe(77);

    const { message, keys } = createResponse(consumed, 4242);
    expect(message).toHaveLength(92);
    expect(initiator.consumeResponse(message)).toBe(true);
    expect(initiator.remoteIndex).toBe(4242);
    expect(hex(initiator.keys!.send)).toBe(hex(keys.receive));
    expect(hex(initiator.keys!.receive)).toBe(hex(keys.send));
  });

  it('refuses an initiation meant for another key, and one whose peer it does not know', () => {
    const other = identity();
    const toOther = new Initiator(client, other.publicKey).createInitiation();
    expect(consumeInitiation(server, parseInitiation(toOther)!, () => true)).toBeUndefined();
    const toUs = new Initiator(client, server.publicKey).createInitiation();
    expect(consumeInitiation(server, parseInitiation(toUs)!, () => false)).toBeUndefined();
  });

  it('refuses an initiation with any byte of its encrypted parts flipped', () => {
    const packet = new Initiator(client, server.publicKey).createInitiation();
    for (const at of [10, 50, 100]) {
      const bad = packet.slice();
      bad[at]! ^= 1;
      expect(
        consumeInitiation(server, parseInitiation(bad)!, () => true),
        `byte ${at}`,
      ).toBeUndefined();
    }
  });

  it("transport: a responder key pair opens the initiator's packets once each, and may send only after that", () => {
    const initiator = new Initiator(client, server.publicKey, 9);
    const consumed = consumeInitiation(server, parseInitiation(initiator.createInitiation())!, () => true)!;
    const { message, keys } = createResponse(consumed, 5);
    initiator.consumeResponse(message);
    const kp = new Keypair(5, 9, keys, 0);
    expect(kp.seal(new Uint8Array(0), 0)).toBeUndefined(); // unconfirmed

    const first = initiator.transport(utf8('hello'));
    expect(Buffer.from(kp.open(parseTransport(first)!, 1)!).toString()).toBe('hello');
    expect(kp.open(parseTransport(first)!, 1)).toBeUndefined(); // replay
    const keepalive = kp.seal(new Uint8Array(0), 2)!;
    expect(keepalive).toHaveLength(32);
    expect(initiator.open(keepalive)).toEqual(new Uint8Array(0));
  });

  it('a key pair rejects everything once REJECT_AFTER_TIME (180 s) has passed', () => {
    const initiator = new Initiator(client, server.publicKey, 9);
    const consumed = consumeInitiation(server, parseInitiation(initiator.createInitiation())!, () => true)!;
    const { message, keys } = createResponse(consumed, 5);
    initiator.consumeResponse(message);
    const kp = new Keypair(5, 9, keys, 1_000);
    expect(kp.open(parseTransport(initiator.transport())!, 1_000 + 179_999)).toBeDefined();
    expect(kp.open(parseTransport(initiator.transport())!, 1_000 + 180_000)).toBeUndefined();
    expect(kp.seal(new Uint8Array(0), 1_000 + 180_000)).toBeUndefined();
  });
});
