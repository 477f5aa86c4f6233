import { parseAddress } from '../../../../protocol/ip/address.ts';
import { addressToBytes } from '../../../../protocol/ip/bytes.ts';
import { V2_SIGNATURE } from '../../../../server/http/proxy-protocol/v2.ts';

/** A v2 header as a load balancer writes one, each byte a test may spoil given explicitly. */
export function v2Header(o: {
  command?: number;
  version?: number;
  family?: number;
  source?: [string, number];
  destination?: [string, number];
  tlvs?: Buffer;
  /** Overrides the length field (default: what follows the fixed part). */
  length?: number;
}): Buffer {
  const addr = (text: string) => {
    const a = parseAddress(text);
    if (!a.ok) throw new TypeError(a.error.message);
    return Buffer.from(addressToBytes(a.value));
  };
  const port = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const body =
    o.source && o.destination
      ? Buffer.concat([addr(o.source[0]), addr(o.destination[0]), port(o.source[1]), port(o.destination[1])])
      : Buffer.alloc(0);
  const rest = Buffer.concat([body, o.tlvs ?? Buffer.alloc(0)]);
  const fixed = Buffer.from([
    ((o.version ?? 2) << 4) | (o.command ?? 1),
    o.family ?? (o.source?.[0].includes(':') ? 0x21 : 0x11),
    0,
    0,
  ]);
  fixed.writeUInt16BE(o.length ?? rest.length, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, rest]);
}
