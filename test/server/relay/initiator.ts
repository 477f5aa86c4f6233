import { cookieKeyFor, mac1KeyFor, setMacs } from '../../../server/relay/cookie.ts';
import type { StaticIdentity, TransportKeys } from '../../../server/relay/handshake.ts';
import {
  encodeInitiation,
  encodeTransport,
  parseCookieReply,
  parseResponse,
  parseTransport,
} from '../../../server/relay/messages.ts';
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
  xaeadOpen,
} from '../../../server/relay/primitives.ts';

/**
 * The initiator's half of the WireGuard handshake, written from the whitepaper for tests only:
 * it drives the server's responder over real bytes, the way wireguard-go would.
 */
export function identity(privateKey = newPrivateKey()): StaticIdentity {
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

/** TAI64N for a unix time in milliseconds: 2^62 + seconds, then nanoseconds, big-endian. */
export function tai64n(ms: number): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, (1n << 62n) + BigInt(Math.floor(ms / 1000)), false);
  v.setUint32(8, (ms % 1000) * 1_000_000, false);
  return out;
}

export class Initiator {
  private chainKey: Uint8Array = new Uint8Array(0);
  private hash: Uint8Array = new Uint8Array(0);
  private ephemeral: Uint8Array = new Uint8Array(0);
  private lastMac1: Uint8Array = new Uint8Array(0);
  private cookie?: Uint8Array;
  keys?: TransportKeys;
  remoteIndex = 0;
  private sendCounter = 0n;

  constructor(
    readonly me: StaticIdentity,
    readonly responder: Uint8Array,
    readonly senderIndex = 0x01020304,
  ) {}

  createInitiation(timestamp = tai64n(Date.now())): Uint8Array {
    this.ephemeral = newPrivateKey();
    const ephemeralPublic = publicKeyOf(this.ephemeral);
    let h = hash(INITIAL_HASH, this.responder);
    let [ck] = kdf(1, INITIAL_CHAIN_KEY, ephemeralPublic) as [Uint8Array];
    h = hash(h, ephemeralPublic);
    let key: Uint8Array;
    [ck, key] = kdf(2, ck, dh(this.ephemeral, this.responder)!) as [Uint8Array, Uint8Array];
    const encryptedStatic = aeadSeal(key, 0n, this.me.publicKey, h);
    h = hash(h, encryptedStatic);
    [ck, key] = kdf(2, ck, dh(this.me.privateKey, this.responder)!) as [Uint8Array, Uint8Array];
    const encryptedTimestamp = aeadSeal(key, 0n, timestamp, h);
    h = hash(h, encryptedTimestamp);
    this.chainKey = ck;
    this.hash = h;
    const msg = encodeInitiation({
      sender: this.senderIndex,
      ephemeral: ephemeralPublic,
      encryptedStatic,
      encryptedTimestamp,
    });
    setMacs(msg, mac1KeyFor(this.responder), this.cookie);
    this.lastMac1 = msg.slice(116, 132);
    return msg;
  }

  /** Takes a cookie reply; later initiations carry mac2. */
  consumeCookieReply(packet: Uint8Array): boolean {
    const reply = parseCookieReply(packet);
    if (!reply || reply.receiver !== this.senderIndex) return false;
    this.cookie = xaeadOpen(cookieKeyFor(this.responder), reply.nonce, reply.encryptedCookie, this.lastMac1);
    return this.cookie !== undefined;
  }

  consumeResponse(packet: Uint8Array): boolean {
    const msg = parseResponse(packet);
    if (!msg || msg.receiver !== this.senderIndex) return false;
    let h = hash(this.hash, msg.ephemeral);
    let [ck] = kdf(1, this.chainKey, msg.ephemeral) as [Uint8Array];
    [ck] = kdf(1, ck, dh(this.ephemeral, msg.ephemeral)!) as [Uint8Array];
    [ck] = kdf(1, ck, dh(this.me.privateKey, msg.ephemeral)!) as [Uint8Array];
    const [ck2, tau, key] = kdf(3, ck, new Uint8Array(32)) as [Uint8Array, Uint8Array, Uint8Array];
    h = hash(h, tau);
    if (!aeadOpen(key, 0n, msg.encryptedNothing, h)) return false;
    const [send, receive] = kdf(2, ck2, new Uint8Array(0)) as [Uint8Array, Uint8Array];
    this.keys = { send, receive };
    this.remoteIndex = msg.sender;
    return true;
  }

  transport(plaintext = new Uint8Array(0), counter = this.sendCounter++): Uint8Array {
    if (!this.keys) throw new Error('no session yet');
    return encodeTransport({
      receiver: this.remoteIndex,
      counter,
      ciphertext: aeadSeal(this.keys.send, counter, plaintext, new Uint8Array(0)),
    });
  }

  open(packet: Uint8Array): Uint8Array | undefined {
    const msg = parseTransport(packet);
    if (!msg || !this.keys || msg.receiver !== this.senderIndex) return undefined;
    return aeadOpen(this.keys.receive, msg.counter, msg.ciphertext, new Uint8Array(0));
  }
}
