import { KEY_SIZE } from './constants.ts';
import { mac1KeyFor, setMacs } from './cookie.ts';
import { encodeResponse, type Initiation } from './messages.ts';
import {
  aeadOpen,
  aeadSeal,
  dh,
  hash,
  INITIAL_CHAIN_KEY,
  INITIAL_HASH,
  kdf,
  newPrivateKey,
  publicKeyOf,
} from './primitives.ts';

/**
 * The responder's half of Noise_IKpsk2 as WireGuard runs it (whitepaper §5.4.2-§5.4.5):
 * consume an initiation (learning who sent it and when), then build the response and the
 * transport keys. Replay and flood checks need per-peer state and live in responder.ts.
 */
export interface StaticIdentity {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

interface ConsumedInitiation {
  /** The initiator's static public key, decrypted from the message. */
  peerPublicKey: Uint8Array;
  senderIndex: number;
  /** TAI64N, 12 bytes big-endian: later handshakes carry larger values. */
  timestamp: Uint8Array;
  ephemeral: Uint8Array;
  chainKey: Uint8Array;
  hash: Uint8Array;
}

export interface TransportKeys {
  send: Uint8Array;
  receive: Uint8Array;
}

const ZERO_PSK = new Uint8Array(KEY_SIZE);

/**
 * Undefined for anything that does not decrypt. `knows(peer)` is asked as soon as the static key
 * is known, so that unknown peers cost no second DH (and a caller can bind the peer's
 * precomputed static-static secret later).
 */
export function consumeInitiation(
  identity: StaticIdentity,
  msg: Initiation,
  knows: (peer: Uint8Array) => boolean,
): ConsumedInitiation | undefined {
  let h = hash(INITIAL_HASH, identity.publicKey);
  h = hash(h, msg.ephemeral);
  let [ck] = kdf(1, INITIAL_CHAIN_KEY, msg.ephemeral) as [Uint8Array];

  const es = dh(identity.privateKey, msg.ephemeral);
  if (!es) return undefined;
  let key: Uint8Array;
  [ck, key] = kdf(2, ck, es) as [Uint8Array, Uint8Array];
  const peerPublicKey = aeadOpen(key, 0n, msg.encryptedStatic, h);
  if (!peerPublicKey || !knows(peerPublicKey)) return undefined;
  h = hash(h, msg.encryptedStatic);

  const ss = dh(identity.privateKey, peerPublicKey);
  if (!ss) return undefined;
  [ck, key] = kdf(2, ck, ss) as [Uint8Array, Uint8Array];
  const timestamp = aeadOpen(key, 0n, msg.encryptedTimestamp, h);
  if (!timestamp) return undefined;
  h = hash(h, msg.encryptedTimestamp);

  return {
    peerPublicKey,
    senderIndex: msg.sender,
    timestamp,
    ephemeral: new Uint8Array(msg.ephemeral),
    chainKey: ck,
    hash: h,
  };
}

/** The response message (mac1 set for the initiator, mac2 zero) and this side's transport keys. */
export function createResponse(
  consumed: ConsumedInitiation,
  localIndex: number,
  psk: Uint8Array = ZERO_PSK,
  ephemeralPrivate: Uint8Array = newPrivateKey(),
): { message: Uint8Array; keys: TransportKeys } {
  const ephemeral = publicKeyOf(ephemeralPrivate);
  let h = hash(consumed.hash, ephemeral);
  let [ck] = kdf(1, consumed.chainKey, ephemeral) as [Uint8Array];
  const ee = dh(ephemeralPrivate, consumed.ephemeral);
  const se = dh(ephemeralPrivate, consumed.peerPublicKey);
  if (!ee || !se) throw new TypeError('consumed initiation holds a low-order key'); // consumeInitiation already refused those
  [ck] = kdf(1, ck, ee) as [Uint8Array];
  [ck] = kdf(1, ck, se) as [Uint8Array];
  const [ck2, tau, key] = kdf(3, ck, psk) as [Uint8Array, Uint8Array, Uint8Array];
  h = hash(h, tau);
  const encryptedNothing = aeadSeal(key, 0n, new Uint8Array(0), h);

  const message = encodeResponse({ sender: localIndex, receiver: consumed.senderIndex, ephemeral, encryptedNothing });
  setMacs(message, mac1KeyFor(consumed.peerPublicKey));
  // The responder receives with the first key and sends with the second.
  const [receive, send] = kdf(2, ck2, new Uint8Array(0)) as [Uint8Array, Uint8Array];
  return { message, keys: { send, receive } };
}
