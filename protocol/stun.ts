import { crc32 } from 'node:zlib';
import { formatAddress, parseAddress } from './ip/address.ts';
import { addressFromBytes, addressToBytes } from './ip/bytes.ts';

/**
 * STUN Binding (RFC 8489, the successor of RFC 5389): just enough for a client to learn its
 * public mapping from the coordination server. No authentication, no TURN, no error responses.
 * A message is a 20-byte header (type, body length, magic cookie, 96-bit transaction id) and
 * 4-byte-aligned type-length-value attributes. Parsers return undefined for anything malformed
 * and never throw: they read untrusted datagrams.
 */
const STUN_MAGIC_COOKIE = 0x2112a442;
export const STUN_HEADER_SIZE = 20;
const STUN_TRANSACTION_ID_SIZE = 12;

const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_FINGERPRINT = 0x8028;
const FINGERPRINT_XOR = 0x5354554e;
const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;
/** Comprehension-required attributes (< 0x8000) this codec understands, or may ignore safely. */
const KNOWN_REQUIRED = new Set([
  ATTR_MAPPED_ADDRESS,
  ATTR_XOR_MAPPED_ADDRESS,
  0x0006 /* USERNAME */,
  0x0008 /* MESSAGE-INTEGRITY */,
]);

export interface StunAddress {
  address: string;
  port: number;
}

interface Attribute {
  type: number;
  value: Uint8Array;
}

interface Message {
  type: number;
  transactionId: Uint8Array;
  attributes: Attribute[];
}

const view = (p: Uint8Array) => new DataView(p.buffer, p.byteOffset, p.byteLength);

/**
 * True when a datagram has a STUN header: top two bits zero, the magic cookie at offset 4, and
 * a body length that is a multiple of 4 and matches the datagram. No WireGuard message passes:
 * their bytes 4-7 are a random index, which would also have to equal the cookie, and a length
 * that fits.
 */
export function isStunMessage(p: Uint8Array): boolean {
  if (p.length < STUN_HEADER_SIZE || (p[0]! & 0xc0) !== 0) return false;
  const v = view(p);
  const length = v.getUint16(2);
  return v.getUint32(4) === STUN_MAGIC_COOKIE && length % 4 === 0 && length === p.length - STUN_HEADER_SIZE;
}

/** A Binding request's transaction id (a copy), or undefined. */
export function parseBindingRequest(p: Uint8Array): Uint8Array | undefined {
  const m = parseMessage(p);
  if (!m || m.type !== BINDING_REQUEST) return undefined;
  // Attributes we do not understand but must: RFC 8489 would answer 420; a reflector drops.
  if (m.attributes.some((a) => a.type < 0x8000 && !KNOWN_REQUIRED.has(a.type))) return undefined;
  return m.transactionId;
}

export function buildBindingRequest(transactionId: Uint8Array): Uint8Array {
  return buildMessage(BINDING_REQUEST, transactionId, []);
}

/** A success response naming `mapped` (the request's source) in XOR-MAPPED-ADDRESS; undefined for an unusable address. */
export function buildBindingResponse(transactionId: Uint8Array, mapped: StunAddress): Uint8Array | undefined {
  const value = encodeXorAddress(transactionId, mapped);
  return value && buildMessage(BINDING_SUCCESS, transactionId, [{ type: ATTR_XOR_MAPPED_ADDRESS, value }]);
}

/** The mapped address of a success response, preferring XOR-MAPPED-ADDRESS; undefined if malformed. */
export function parseBindingResponse(p: Uint8Array): { transactionId: Uint8Array; mapped: StunAddress } | undefined {
  const m = parseMessage(p);
  if (!m || m.type !== BINDING_SUCCESS) return undefined;
  if (m.attributes.some((a) => a.type < 0x8000 && !KNOWN_REQUIRED.has(a.type))) return undefined;
  const xor = m.attributes.find((a) => a.type === ATTR_XOR_MAPPED_ADDRESS);
  const plain = m.attributes.find((a) => a.type === ATTR_MAPPED_ADDRESS);
  const mapped = xor ? decodeAddress(xor.value, m.transactionId) : plain ? decodeAddress(plain.value) : undefined;
  return mapped && { transactionId: m.transactionId, mapped };
}

function parseMessage(p: Uint8Array): Message | undefined {
  if (!isStunMessage(p)) return undefined;
  const v = view(p);
  const attributes: Attribute[] = [];
  for (let at = STUN_HEADER_SIZE; at < p.length;) {
    if (at + 4 > p.length) return undefined;
    const type = v.getUint16(at);
    const length = v.getUint16(at + 2);
    const end = at + 4 + length;
    if (end > p.length) return undefined;
    if (type === ATTR_FINGERPRINT) {
      // Last by definition; the CRC covers everything before it, with the header's length as sent.
      if (length !== 4 || end !== p.length || v.getUint32(at + 4) !== fingerprintOf(p.subarray(0, at)))
        return undefined;
    } else {
      attributes.push({ type, value: p.subarray(at + 4, end) });
    }
    at = end + ((4 - (length % 4)) % 4);
  }
  return { type: v.getUint16(0), transactionId: p.slice(8, STUN_HEADER_SIZE), attributes };
}

/** Header, attributes padded to 4 bytes, then FINGERPRINT (so the other side can tell STUN apart cheaply). */
function buildMessage(type: number, transactionId: Uint8Array, attributes: Attribute[]): Uint8Array {
  if (transactionId.length !== STUN_TRANSACTION_ID_SIZE) throw new TypeError('a STUN transaction id is 12 bytes');
  const padded = (n: number) => (n + 3) & ~3;
  const bodyLength = attributes.reduce((n, a) => n + 4 + padded(a.value.length), 0) + 8;
  const out = new Uint8Array(STUN_HEADER_SIZE + bodyLength);
  const v = view(out);
  v.setUint16(0, type);
  v.setUint16(2, bodyLength);
  v.setUint32(4, STUN_MAGIC_COOKIE);
  out.set(transactionId, 8);
  let at = STUN_HEADER_SIZE;
  for (const a of attributes) {
    v.setUint16(at, a.type);
    v.setUint16(at + 2, a.value.length);
    out.set(a.value, at + 4);
    at += 4 + padded(a.value.length);
  }
  v.setUint16(at, ATTR_FINGERPRINT);
  v.setUint16(at + 2, 4);
  v.setUint32(at + 4, fingerprintOf(out.subarray(0, at)));
  return out;
}

function fingerprintOf(bytes: Uint8Array): number {
  return (crc32(bytes) ^ FINGERPRINT_XOR) >>> 0;
}

/** The XOR mask: the cookie, then (for IPv6) the transaction id; the port uses its first 16 bits. */
function mask(transactionId: Uint8Array): Uint8Array {
  const m = new Uint8Array(16);
  view(m).setUint32(0, STUN_MAGIC_COOKIE);
  m.set(transactionId, 4);
  return m;
}

function encodeXorAddress(transactionId: Uint8Array, mapped: StunAddress): Uint8Array | undefined {
  // A dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d; they are IPv4 clients.
  const ip =
    mapped.address.startsWith('::ffff:') && mapped.address.includes('.') ? mapped.address.slice(7) : mapped.address;
  const parsed = parseAddress(ip);
  const bytes = parsed.ok ? addressToBytes(parsed.value) : undefined;
  if (!bytes || !Number.isInteger(mapped.port) || mapped.port < 0 || mapped.port > 65535) return undefined;
  const m = mask(transactionId);
  const out = new Uint8Array(4 + bytes.length);
  out[1] = bytes.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  view(out).setUint16(2, mapped.port ^ (STUN_MAGIC_COOKIE >>> 16));
  bytes.forEach((b, i) => (out[4 + i] = b ^ m[i]!));
  return out;
}

/** MAPPED-ADDRESS, or XOR-MAPPED-ADDRESS when the transaction id is given. */
function decodeAddress(value: Uint8Array, transactionId?: Uint8Array): StunAddress | undefined {
  if (value.length < 4) return undefined;
  const size = value[1] === FAMILY_IPV4 ? 4 : value[1] === FAMILY_IPV6 ? 16 : 0;
  if (size === 0 || value.length !== 4 + size) return undefined;
  const m = transactionId ? mask(transactionId) : new Uint8Array(16);
  const port = view(value).getUint16(2) ^ (transactionId ? STUN_MAGIC_COOKIE >>> 16 : 0);
  const ip = addressFromBytes(value.subarray(4).map((b, i) => b ^ m[i]!));
  return ip === undefined ? undefined : { address: formatAddress(ip), port };
}
