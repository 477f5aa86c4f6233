import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageType } from '../../../server/relay/constants.ts';
import {
  encodeCookieReply,
  encodeTransport,
  messageType,
  parseCookieReply,
  parseInitiation,
  parseResponse,
  parseTransport,
  receiverIndex,
} from '../../../server/relay/messages.ts';
import { Reflector } from '../../../server/relay/reflector.ts';
import { Relay } from '../../../server/relay/relay.ts';
import { Responder } from '../../../server/relay/responder.ts';
import type { UdpAddress } from '../../../server/relay/udp-address.ts';
import { applyByteEdits, datagrams, edits, fuzz } from '../../support/fuzz.ts';
import { identity, Initiator, tai64n } from './initiator.ts';

const server = identity();
const alice = identity();
const bob = identity();
const keyB64 = (k: Uint8Array) => Buffer.from(k).toString('base64');
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Real messages of every type, made once: the fuzzers mutate these. */
const toServer = new Initiator(alice, server.publicKey, 7).createInitiation(tai64n(1_000_000));
const toBob = new Initiator(alice, bob.publicKey, 8).createInitiation(tai64n(1_000_000));
const wellFormed = [
  toServer,
  toBob,
  encodeCookieReply({ receiver: 7, nonce: new Uint8Array(24).fill(1), encryptedCookie: new Uint8Array(32).fill(2) }),
  encodeTransport({ receiver: 100, counter: 0n, ciphertext: new Uint8Array(16).fill(3) }),
  encodeTransport({ receiver: 100, counter: 5n, ciphertext: new Uint8Array(80).fill(4) }),
];
const packets = datagrams(fc.constantFrom(...wellFormed), 200);

describe("the relay's WireGuard message parsing of untrusted datagrams", () => {
  it('never throws, and each parser accepts only its own type at its exact size', () => {
    fuzz(
      fc.property(packets, (p) => {
        const type = messageType(p);
        const parsed = [parseInitiation(p), parseResponse(p), parseCookieReply(p), parseTransport(p)];
        const accepted = parsed.flatMap((m, i) => (m === undefined ? [] : [i + 1]));
        expect(accepted.length).toBeLessThanOrEqual(1);
        if (accepted.length === 1) expect(type).toBe(accepted[0]);
        if (parsed[0]) expect(p.length).toBe(148);
        const transport = parseTransport(p);
        if (transport) expect(transport.ciphertext.length).toBe(p.length - 16);
        const index = receiverIndex(p);
        if (index !== undefined) expect(type).not.toBe(MessageType.initiation);
      }),
      { runs: 300 },
    );
  });

  it("lets the server's responder authenticate nothing but what the initiator sent", () => {
    fuzz(
      fc.property(
        fc.array(packets, { maxLength: 4 }),
        fc.array(edits, { maxLength: 3 }),
        fc.boolean(),
        (fuzzed, changes, underLoad) => {
          const from: UdpAddress = { address: '203.0.113.7', port: 41000 };
          const sent: Uint8Array[] = [];
          const authenticated: Uint8Array[] = [];
          let nextIndex = 100;
          let arriving: Uint8Array = new Uint8Array();
          const responder = new Responder({
            identity: server,
            nodeForKey: (k) => (k === keyB64(alice.publicKey) ? 'n-alice' : undefined),
            send: (packet) => sent.push(packet),
            now: () => 1_000_000,
            underLoad: () => underLoad,
            newIndex: () => nextIndex++,
            onAuthenticated: () => authenticated.push(arriving),
          });
          const initiator = new Initiator(alice, server.publicKey, 7);
          responder.handleInitiation(initiator.createInitiation(tai64n(1_000_000)), from);
          const genuine: Uint8Array[] = [];
          if (!underLoad && initiator.consumeResponse(sent.at(-1)!)) genuine.push(initiator.transport());
          const garbled = genuine.flatMap((g) => changes.map((c) => applyByteEdits(g, c)));
          for (const p of [...garbled, ...genuine, ...fuzzed, ...garbled]) {
            arriving = p;
            const type = messageType(p);
            if (type === MessageType.initiation) responder.handleInitiation(p, from);
            else responder.handleTransport(p, from);
          }
          for (const p of authenticated) expect(genuine.some((g) => same(g, p))).toBe(true);
        },
      ),
      { runs: 20 },
    );
  });

  it('forwards only whole, unchanged datagrams, and only to nodes the sender may reach', () => {
    fuzz(
      fc.property(fc.array(packets, { minLength: 1, maxLength: 8 }), (fuzzed) => {
        const addresses = {
          a: { address: '198.51.100.1', port: 1001 },
          b: { address: '198.51.100.2', port: 1002 },
          c: { address: '198.51.100.3', port: 1003 },
        };
        const keys: Record<string, Uint8Array> = { a: alice.publicKey, b: bob.publicKey, c: server.publicKey };
        const reflector = new Reflector(() => {});
        for (const [id, at] of Object.entries(addresses)) reflector.observe(id, at, 0);
        const forwarded: Array<{ packet: Uint8Array; to: string }> = [];
        const relay = new Relay({
          directory: {
            visiblePeers: (id) => (id === 'a' ? ['b'] : id === 'b' ? ['a'] : []),
            wireguardKey: (id) => (keys[id] ? keyB64(keys[id]) : undefined),
          },
          reflector,
          send: (packet, to) => forwarded.push({ packet, to: `${to.address}:${to.port}` }),
          now: () => 0,
        });
        const inputs: Uint8Array[] = [];
        for (const [i, p] of fuzzed.entries()) {
          const from = Object.values(addresses)[i % 3]!;
          inputs.push(p.slice());
          const type = messageType(p);
          if (type === MessageType.initiation) relay.initiation(p, from);
          else if (type === MessageType.response) relay.response(p, from);
          else relay.byIndex(p, from);
        }
        for (const f of forwarded) {
          expect(f.to).not.toBe('198.51.100.3:1003'); // c sees no one and no one sees c
          expect(inputs.some((p) => same(p, f.packet))).toBe(true);
        }
      }),
    );
  });
});
