import { randomBytes } from 'node:crypto';
import { COOKIE_REFRESH_TIME, LABEL_COOKIE, LABEL_MAC1 } from './constants.ts';
import { encodeCookieReply, macOffsets } from './messages.ts';
import { constantTimeEqual, hash, mac, utf8, xaeadSeal } from './primitives.ts';

/**
 * mac1, mac2 and cookie replies (whitepaper §5.4.4, §5.4.7; wireguard-go `device/cookie.go`).
 *  - mac1 = MAC(HASH("mac1----" || receiver's static public key), bytes before mac1): proves the
 *    sender knows whom it addresses; anyone with the public key can check it (the relay does).
 *  - Under load a responder answers a handshake without a valid mac2 by a cookie reply: the
 *    cookie MAC(secret, source address) sealed with XChaCha20-Poly1305 under
 *    HASH("cookie--" || responder's public key), with the message's mac1 as associated data.
 *    The initiator then sends mac2 = MAC(cookie, bytes before mac2), proving it owns the address.
 */
export function mac1KeyFor(publicKey: Uint8Array): Uint8Array {
  return hash(utf8(LABEL_MAC1), publicKey);
}

export function cookieKeyFor(publicKey: Uint8Array): Uint8Array {
  return hash(utf8(LABEL_COOKIE), publicKey);
}

export function mac1Valid(mac1Key: Uint8Array, message: Uint8Array): boolean {
  const { mac1, mac2 } = macOffsets(message);
  return constantTimeEqual(mac(mac1Key, message.subarray(0, mac1)), message.subarray(mac1, mac2));
}

/** Writes mac1 (and mac2 when a cookie is given) into a finished handshake message. */
export function setMacs(message: Uint8Array, mac1Key: Uint8Array, cookie?: Uint8Array): void {
  const { mac1, mac2 } = macOffsets(message);
  message.set(mac(mac1Key, message.subarray(0, mac1)), mac1);
  if (cookie) message.set(mac(cookie, message.subarray(0, mac2)), mac2);
}

/** The source address as the cookie binds it; the cookie is opaque to the initiator. */
export function addressBytes(ip: string, port: number): Uint8Array {
  return utf8(`${ip}|${port}`);
}

export class CookieChecker {
  readonly mac1Key: Uint8Array;
  private readonly cookieKey: Uint8Array;
  private secret = new Uint8Array(32);
  private secretSetAt = -Infinity;

  constructor(
    publicKey: Uint8Array,
    private readonly now: () => number,
  ) {
    this.mac1Key = mac1KeyFor(publicKey);
    this.cookieKey = cookieKeyFor(publicKey);
  }

  checkMac1(message: Uint8Array): boolean {
    return mac1Valid(this.mac1Key, message);
  }

  /** A mac2 made with a cookie from a secret older than two minutes no longer counts. */
  checkMac2(message: Uint8Array, source: Uint8Array): boolean {
    if (this.now() - this.secretSetAt > COOKIE_REFRESH_TIME) return false;
    const { mac2 } = macOffsets(message);
    const cookie = mac(this.secret, source);
    return constantTimeEqual(mac(cookie, message.subarray(0, mac2)), message.subarray(mac2));
  }

  /** The 64-byte cookie reply to `message`, addressed to its sender index. */
  createReply(message: Uint8Array, receiver: number, source: Uint8Array): Uint8Array {
    if (this.now() - this.secretSetAt > COOKIE_REFRESH_TIME) {
      this.secret = new Uint8Array(randomBytes(32));
      this.secretSetAt = this.now();
    }
    const { mac1, mac2 } = macOffsets(message);
    const nonce = new Uint8Array(randomBytes(24));
    const encryptedCookie = xaeadSeal(this.cookieKey, nonce, mac(this.secret, source), message.subarray(mac1, mac2));
    return encodeCookieReply({ receiver, nonce, encryptedCookie });
  }
}
