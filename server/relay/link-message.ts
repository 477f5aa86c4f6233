import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The inter-replica link's datagram (relay-link.ts), sent between replicas' relay UDP ports:
 *
 *   0   4  magic "TRLK": never WireGuard-shaped (type 1-4 then three zeros) nor STUN (top bits 00)
 *   4   1  kind: 1 a WireGuard datagram to deliver, 2 a path trial for a node's map stream
 *   5   8  the sending replica's session (random per process)
 *   13  8  counter, per session, strictly for the replay window
 *   21  8  the sender's clock (ms), so a new session must be fresh
 *   29  1+n from node id, 1+m to node id (UTF-8, at most 64 bytes each)
 *   ..     payload
 *   -16 16 HMAC-SHA256 over everything before it under the cluster's link key, truncated
 */
export const LinkKind = { datagram: 1, pathTrial: 2 } as const;
export type LinkKind = (typeof LinkKind)[keyof typeof LinkKind];

export interface LinkMessage {
  kind: LinkKind;
  session: Buffer;
  counter: number;
  sentAt: number;
  from: string;
  to: string;
  payload: Uint8Array;
}

const MAGIC = Buffer.from('TRLK');
const HEADER = 29;
const TAG = 16;
const MAX_ID = 64;

/** The key every replica derives from the cluster secret (never the secret itself on the wire). */
export function linkKeyOf(secret: string): Buffer {
  return createHmac('sha256', secret).update('trellis relay link v1').digest();
}

export function isLinkMessage(packet: Uint8Array): boolean {
  return packet.length >= HEADER + 2 + TAG && Buffer.from(packet.buffer, packet.byteOffset, 4).equals(MAGIC);
}

export function encodeLink(key: Buffer, m: LinkMessage): Buffer {
  const from = Buffer.from(m.from, 'utf8');
  const to = Buffer.from(m.to, 'utf8');
  if (from.length > MAX_ID || to.length > MAX_ID) throw new RangeError('node id too long for the relay link');
  const out = Buffer.alloc(HEADER + 2 + from.length + to.length + m.payload.length + TAG);
  MAGIC.copy(out, 0);
  out[4] = m.kind;
  m.session.copy(out, 5, 0, 8);
  out.writeBigUInt64BE(BigInt(m.counter), 13);
  out.writeBigUInt64BE(BigInt(m.sentAt), 21);
  let at = HEADER;
  out[at++] = from.length;
  at += from.copy(out, at);
  out[at++] = to.length;
  at += to.copy(out, at);
  at += Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.length).copy(out, at);
  tagOf(key, out.subarray(0, at)).copy(out, at);
  return out;
}

/** The message, when it is well formed and its tag is the cluster's; undefined otherwise. */
export function decodeLink(key: Buffer, packet: Uint8Array): LinkMessage | undefined {
  if (!isLinkMessage(packet)) return undefined;
  const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.length);
  const body = buf.subarray(0, buf.length - TAG);
  if (!timingSafeEqual(tagOf(key, body), buf.subarray(buf.length - TAG))) return undefined;
  const kind = body[4];
  if (kind !== LinkKind.datagram && kind !== LinkKind.pathTrial) return undefined;
  let at = HEADER;
  const fromLength = body[at++]!;
  if (fromLength > MAX_ID || at + fromLength + 1 > body.length) return undefined;
  const from = body.toString('utf8', at, at + fromLength);
  at += fromLength;
  const toLength = body[at++]!;
  if (toLength > MAX_ID || at + toLength > body.length) return undefined;
  const to = body.toString('utf8', at, at + toLength);
  at += toLength;
  const counter = body.readBigUInt64BE(13);
  const sentAt = body.readBigUInt64BE(21);
  if (counter > BigInt(Number.MAX_SAFE_INTEGER) || sentAt > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return {
    kind,
    session: Buffer.from(body.subarray(5, 13)),
    counter: Number(counter),
    sentAt: Number(sentAt),
    from,
    to,
    payload: new Uint8Array(body.subarray(at)),
  };
}

function tagOf(key: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', key).update(body).digest().subarray(0, TAG);
}
