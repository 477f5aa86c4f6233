import { formatAddress } from '../../../protocol/ip/address.ts';
import { addressFromBytes } from '../../../protocol/ip/bytes.ts';
import { INCOMPLETE, refused, type HeaderRead, type ProxyEndpoint } from './header.ts';

/** The twelve bytes every v2 header starts with. */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

const FIXED = 16;
/**
 * Most bytes after the fixed part that are accepted: the addresses and TLVs haproxy sends (SSL
 * details, a unique id, the authority) fit many times over; the protocol's own bound, 64 KiB, is
 * more than any connection should make a server buffer before it is known.
 */
export const MAX_V2_BODY = 2048;

/** Address family (high nibble) and transport (low nibble) of byte 13. */
const TCP4 = 0x11;
const TCP6 = 0x21;
const UNSPEC = 0x00;

/** Reads a binary (version 2) header at the start of `bytes`, which begin with its signature. */
export function readV2(bytes: Uint8Array): HeaderRead {
  if (bytes.length < FIXED) return INCOMPLETE;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view[12]! >> 4;
  const command = view[12]! & 0x0f;
  if (version !== 2) return refused('proxy_protocol.malformed', `PROXY v2 header with version ${version}, not 2`);
  if (command > 1)
    return refused('proxy_protocol.malformed', `PROXY v2 header with command ${command}, not LOCAL (0) or PROXY (1)`);
  const family = view[13]!;
  const bodyLength = view.readUInt16BE(14);
  if (bodyLength > MAX_V2_BODY) {
    return refused(
      'proxy_protocol.too_large',
      `PROXY v2 header of ${FIXED + bodyLength} bytes; at most ${FIXED + MAX_V2_BODY} are accepted`,
    );
  }
  if (bytes.length < FIXED + bodyLength) return INCOMPLETE;
  const length = FIXED + bodyLength;
  const body = view.subarray(FIXED, length);
  // LOCAL: the proxy itself (a health check); whatever it put in the body is not about a client.
  if (command === 0) return { kind: 'header', header: { version: 2, command: 'local', length } };
  if (family === UNSPEC) return { kind: 'header', header: { version: 2, command: 'local', length } };
  const size = family === TCP4 ? 4 : family === TCP6 ? 16 : undefined;
  if (size === undefined) {
    return refused(
      'proxy_protocol.malformed',
      `PROXY v2 header with address family and transport 0x${family.toString(16).padStart(2, '0')}; only TCP over IPv4 (0x11) or IPv6 (0x21) reaches this port`,
    );
  }
  const addresses = 2 * size + 4;
  if (bodyLength < addresses) {
    return refused(
      'proxy_protocol.malformed',
      `PROXY v2 header of ${bodyLength} address bytes; TCP over IPv${size === 4 ? 4 : 6} needs ${addresses}`,
    );
  }
  const tlvError = checkTlvs(body.subarray(addresses));
  if (tlvError) return refused('proxy_protocol.malformed', `PROXY v2 header: ${tlvError}`);
  const endpoint = (at: number, portAt: number): ProxyEndpoint => ({
    address: formatAddress(addressFromBytes(body.subarray(at, at + size))!),
    port: body.readUInt16BE(portAt),
  });
  return {
    kind: 'header',
    header: {
      version: 2,
      command: 'proxy',
      source: endpoint(0, 2 * size),
      destination: endpoint(size, 2 * size + 2),
      length,
    },
  };
}

/** TLVs are skipped, but they must tile the rest of the header exactly: type, 2-byte length, value. */
function checkTlvs(tlvs: Buffer): string | undefined {
  let at = 0;
  while (at < tlvs.length) {
    if (tlvs.length - at < 3) return `a TLV at offset ${at} is cut short (${tlvs.length - at} bytes)`;
    const valueLength = tlvs.readUInt16BE(at + 1);
    if (at + 3 + valueLength > tlvs.length)
      return `TLV type 0x${tlvs[at]!.toString(16)} claims ${valueLength} bytes past the header's end`;
    at += 3 + valueLength;
  }
  return undefined;
}
