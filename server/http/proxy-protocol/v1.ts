import { formatAddress, parseAddress } from '../../../protocol/ip/address.ts';
import { INCOMPLETE, refused, type HeaderRead, type ProxyEndpoint } from './header.ts';

/** The text a version 1 header starts with. */
export const V1_SIGNATURE = Buffer.from('PROXY ', 'latin1');

/** The protocol's own bound: the longest line, `PROXY UNKNOWN` with IPv6 addresses, CRLF included. */
export const MAX_V1_LENGTH = 107;

/** Reads a text (version 1) header at the start of `bytes`, which begin with its signature. */
export function readV1(bytes: Uint8Array): HeaderRead {
  const window = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, MAX_V1_LENGTH));
  const end = window.indexOf('\r\n', 0, 'latin1');
  if (end < 0) {
    return bytes.length >= MAX_V1_LENGTH
      ? refused('proxy_protocol.too_large', `PROXY v1 header without CRLF in its first ${MAX_V1_LENGTH} bytes`)
      : INCOMPLETE;
  }
  const line = window.toString('latin1', 0, end);
  const length = end + 2;
  const fields = line.split(' ');
  if (fields[1] === 'UNKNOWN') return { kind: 'header', header: { version: 1, command: 'local', length } };
  const family = fields[1] === 'TCP4' ? 4 : fields[1] === 'TCP6' ? 6 : undefined;
  if (family === undefined || fields.length !== 6) {
    return refused(
      'proxy_protocol.malformed',
      `PROXY v1 header ${JSON.stringify(line)} is not "PROXY TCP4|TCP6 source destination sport dport"`,
    );
  }
  const source = endpoint(fields[2]!, fields[4]!, family);
  const destination = endpoint(fields[3]!, fields[5]!, family);
  if (!source || !destination) {
    return refused(
      'proxy_protocol.malformed',
      `PROXY v1 header ${JSON.stringify(line)}: addresses or ports are not TCP${family}'s`,
    );
  }
  return { kind: 'header', header: { version: 1, command: 'proxy', source, destination, length } };
}

function endpoint(addressText: string, portText: string, family: 4 | 6): ProxyEndpoint | undefined {
  const address = parseAddress(addressText, { ipv4Tail: false });
  if (!address.ok || address.value.family !== family) return undefined;
  if (!/^(0|[1-9][0-9]{0,4})$/.test(portText) || Number(portText) > 65535) return undefined;
  return { address: formatAddress(address.value), port: Number(portText) };
}
