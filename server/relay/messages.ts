import {
  AEAD_TAG_SIZE,
  COOKIE_REPLY_SIZE,
  INITIATION_SIZE,
  KEY_SIZE,
  MAC_SIZE,
  MessageType,
  RESPONSE_SIZE,
  TAI64N_SIZE,
  TRANSPORT_HEADER_SIZE,
} from './constants.ts';

/**
 * The four WireGuard messages (whitepaper §5.4): a type byte, three zero bytes, then fixed
 * fields. Parsers return views into the packet (no copies) or undefined for anything that is not
 * exactly that message; builders return fresh buffers.
 */
export interface Initiation {
  sender: number;
  ephemeral: Uint8Array;
  encryptedStatic: Uint8Array;
  encryptedTimestamp: Uint8Array;
  mac1: Uint8Array;
  mac2: Uint8Array;
}
interface Response {
  sender: number;
  receiver: number;
  ephemeral: Uint8Array;
  encryptedNothing: Uint8Array;
  mac1: Uint8Array;
  mac2: Uint8Array;
}
interface CookieReply {
  receiver: number;
  nonce: Uint8Array;
  encryptedCookie: Uint8Array;
}
export interface Transport {
  receiver: number;
  counter: bigint;
  ciphertext: Uint8Array;
}

/** The message type, or undefined when the header is not a WireGuard one. */
export function messageType(p: Uint8Array): number | undefined {
  if (p.length < 4 || p[1] !== 0 || p[2] !== 0 || p[3] !== 0) return undefined;
  const t = p[0]!;
  return t >= MessageType.initiation && t <= MessageType.transport ? t : undefined;
}

const view = (p: Uint8Array) => new DataView(p.buffer, p.byteOffset, p.byteLength);

export function parseInitiation(p: Uint8Array): Initiation | undefined {
  if (p.length !== INITIATION_SIZE || messageType(p) !== MessageType.initiation) return undefined;
  return {
    sender: view(p).getUint32(4, true),
    ephemeral: p.subarray(8, 40),
    encryptedStatic: p.subarray(40, 40 + KEY_SIZE + AEAD_TAG_SIZE),
    encryptedTimestamp: p.subarray(88, 88 + TAI64N_SIZE + AEAD_TAG_SIZE),
    mac1: p.subarray(116, 132),
    mac2: p.subarray(132, 148),
  };
}

export function parseResponse(p: Uint8Array): Response | undefined {
  if (p.length !== RESPONSE_SIZE || messageType(p) !== MessageType.response) return undefined;
  const v = view(p);
  return {
    sender: v.getUint32(4, true),
    receiver: v.getUint32(8, true),
    ephemeral: p.subarray(12, 44),
    encryptedNothing: p.subarray(44, 60),
    mac1: p.subarray(60, 76),
    mac2: p.subarray(76, 92),
  };
}

export function parseCookieReply(p: Uint8Array): CookieReply | undefined {
  if (p.length !== COOKIE_REPLY_SIZE || messageType(p) !== MessageType.cookieReply) return undefined;
  return { receiver: view(p).getUint32(4, true), nonce: p.subarray(8, 32), encryptedCookie: p.subarray(32, 64) };
}

export function parseTransport(p: Uint8Array): Transport | undefined {
  if (p.length < TRANSPORT_HEADER_SIZE + AEAD_TAG_SIZE || messageType(p) !== MessageType.transport) return undefined;
  const v = view(p);
  return {
    receiver: v.getUint32(4, true),
    counter: v.getBigUint64(8, true),
    ciphertext: p.subarray(TRANSPORT_HEADER_SIZE),
  };
}

/** The receiver index of a response, cookie reply or transport message (its routing key). */
export function receiverIndex(p: Uint8Array): number | undefined {
  const t = messageType(p);
  if (t === MessageType.response && p.length === RESPONSE_SIZE) return view(p).getUint32(8, true);
  if (
    (t === MessageType.cookieReply && p.length === COOKIE_REPLY_SIZE) ||
    (t === MessageType.transport && p.length >= TRANSPORT_HEADER_SIZE + AEAD_TAG_SIZE)
  ) {
    return view(p).getUint32(4, true);
  }
  return undefined;
}

function header(type: number, size: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(size);
  bytes[0] = type;
  return { bytes, view: view(bytes) };
}

export function encodeInitiation(m: Omit<Initiation, 'mac1' | 'mac2'>): Uint8Array {
  const { bytes, view: v } = header(MessageType.initiation, INITIATION_SIZE);
  v.setUint32(4, m.sender, true);
  bytes.set(m.ephemeral, 8);
  bytes.set(m.encryptedStatic, 40);
  bytes.set(m.encryptedTimestamp, 88);
  return bytes;
}

/** mac1 and mac2 are left zero: the caller sets them over the finished bytes (cookie.ts). */
export function encodeResponse(m: Omit<Response, 'mac1' | 'mac2'>): Uint8Array {
  const { bytes, view: v } = header(MessageType.response, RESPONSE_SIZE);
  v.setUint32(4, m.sender, true);
  v.setUint32(8, m.receiver, true);
  bytes.set(m.ephemeral, 12);
  bytes.set(m.encryptedNothing, 44);
  return bytes;
}

export function encodeCookieReply(m: CookieReply): Uint8Array {
  const { bytes, view: v } = header(MessageType.cookieReply, COOKIE_REPLY_SIZE);
  v.setUint32(4, m.receiver, true);
  bytes.set(m.nonce, 8);
  bytes.set(m.encryptedCookie, 32);
  return bytes;
}

export function encodeTransport(m: Transport): Uint8Array {
  const { bytes, view: v } = header(MessageType.transport, TRANSPORT_HEADER_SIZE + m.ciphertext.length);
  v.setUint32(4, m.receiver, true);
  v.setBigUint64(8, m.counter, true);
  bytes.set(m.ciphertext, TRANSPORT_HEADER_SIZE);
  return bytes;
}

/** Where mac1 and mac2 sit in a handshake message: the last 32 bytes. */
export function macOffsets(p: Uint8Array): { mac1: number; mac2: number } {
  return { mac1: p.length - 2 * MAC_SIZE, mac2: p.length - MAC_SIZE };
}
