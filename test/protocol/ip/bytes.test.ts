import { describe, expect, it } from 'vitest';
import { formatAddress, parseAddress } from '../../../protocol/ip/address.ts';
import { addressFromBytes, addressToBytes } from '../../../protocol/ip/bytes.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

describe('IP address bytes', () => {
  it('converts IPv4 and IPv6 to network-order bytes and back', () => {
    const cases: Array<[string, string]> = [
      ['192.0.2.1', 'c0000201'],
      ['0.0.0.0', '00000000'],
      ['::', '0'.repeat(32)],
      ['::1', `${'0'.repeat(31)}1`],
      ['2001:db8::1:0:0:1', '20010db8000000000001000000000001'],
      ['::ffff:c000:201', '00000000000000000000ffffc0000201'],
    ];
    for (const [text, bytes] of cases) {
      const a = parseAddress(text);
      if (!a.ok) throw new Error(text);
      expect(Buffer.from(addressToBytes(a.value)).toString('hex'), text).toBe(bytes);
      expect(formatAddress(addressFromBytes(hex(bytes))!)).toBe(text);
    }
  });

  it('reads only exactly 4 or 16 bytes', () => {
    for (const n of [0, 3, 5, 15, 17]) expect(addressFromBytes(new Uint8Array(n))).toBeUndefined();
  });
});
