import type { Address } from './address.ts';

/** Addresses as network-order bytes, for binary wire formats (STUN): 4 bytes IPv4, 16 IPv6. */
export function addressToBytes(a: Address): Uint8Array {
  const length = a.family === 4 ? 4 : 16;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number((a.value >> BigInt(8 * (length - 1 - i))) & 0xffn);
  return out;
}

/** `undefined` unless exactly 4 or 16 bytes. */
export function addressFromBytes(bytes: Uint8Array): Address | undefined {
  if (bytes.length !== 4 && bytes.length !== 16) return undefined;
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return { family: bytes.length === 4 ? 4 : 6, value };
}
