import { hexStart, INCOMPLETE, refused, type HeaderRead } from './header.ts';
import { readV1, V1_SIGNATURE } from './v1.ts';
import { readV2, V2_SIGNATURE } from './v2.ts';

/**
 * The PROXY header at the start of what a connection sent so far, either version, told apart
 * by its signature. `incomplete` only while the bytes could still become a valid header, so
 * a caller buffers at most one header's worth.
 */
export function readProxyHeader(bytes: Uint8Array): HeaderRead {
  if (startsLike(bytes, V2_SIGNATURE)) return bytes.length < V2_SIGNATURE.length ? INCOMPLETE : readV2(bytes);
  if (startsLike(bytes, V1_SIGNATURE)) return bytes.length < V1_SIGNATURE.length ? INCOMPLETE : readV1(bytes);
  return refused(
    'proxy_protocol.missing',
    `the connection does not start with a PROXY header (first bytes ${hexStart(bytes)})`,
  );
}

/** Do the bytes agree with the signature as far as both go? */
function startsLike(bytes: Uint8Array, signature: Buffer): boolean {
  const n = Math.min(bytes.length, signature.length);
  return signature.subarray(0, n).equals(Buffer.from(bytes.buffer, bytes.byteOffset, n));
}
