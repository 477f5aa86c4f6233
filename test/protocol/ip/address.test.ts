import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAddress, parseAddress, type Address } from '../../../protocol/ip/address.ts';

const parsed = (text: string, syntax = {}): Address => {
  const r = parseAddress(text, syntax);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};
const canonical = (text: string) => formatAddress(parsed(text));

describe('IP addresses', () => {
  it('reads IPv4 and IPv6 into a family and a number', () => {
    expect(parsed('100.64.0.1')).toEqual({ family: 4, value: 0x64400001n });
    expect(parsed('::1')).toEqual({ family: 6, value: 1n });
    expect(parsed('fd7a:115c:a1e0::1').family).toBe(6);
  });

  it('writes IPv6 in the RFC 5952 form: lowercase, shortest, longest zero run compressed, first on ties', () => {
    expect(canonical('FD7A:115C:A1E0:0:0:0:0:1')).toBe('fd7a:115c:a1e0::1');
    expect(canonical('2001:0db8:0000:0000:0001:0000:0000:0001')).toBe('2001:db8::1:0:0:1');
    expect(canonical('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1'); // one zero group stays
    expect(canonical('2001:db8:0:0:1:0:0:0')).toBe('2001:db8:0:0:1::');
    expect(canonical('0:0:0:0:0:0:0:0')).toBe('::');
    expect(canonical('1::')).toBe('1::');
    expect(canonical('1:2:3:4:5:6:7::')).toBe('1:2:3:4:5:6:7:0');
  });

  it('reads a dotted IPv4 tail as the last 32 bits, unless the caller refuses it', () => {
    expect(canonical('::ffff:1.2.3.4')).toBe('::ffff:102:304');
    expect(canonical('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221');
    expect(parseAddress('::ffff:1.2.3.4', { ipv4Tail: false }).ok).toBe(false);
  });

  it.each([
    '',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.256',
    '01.2.3.4', // octal to some parsers, decimal to others: refused
    '1.2.3.04',
    '1.2.3.-1',
    '0x1.2.3.4',
    '1..2.3',
    '1::2::3',
    ':1::',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7::8',
    '12345::',
    'g::1',
    'fe80::1%eth0',
    '[::1]',
    '::1.2.3',
    '::1.2.3.4:5',
    '::01.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    `${'0'.repeat(50)}::1`,
  ])('refuses %j with ip.not_an_address, quoting it', (bad) => {
    const r = parseAddress(bad);
    expect(r).toEqual({ ok: false, error: { code: 'ip.not_an_address', message: expect.any(String) } });
    if (!r.ok) expect(r.error.message).toContain(JSON.stringify(bad.slice(0, 64)).slice(0, -1));
  });

  it('quotes long or odd input cut short and escaped, so a message cannot forge a log line', () => {
    const r = parseAddress(`1.2.3.4\n${'x'.repeat(10_000)}`);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.message).not.toContain('\n');
      expect(r.error.message.length).toBeLessThan(120);
    }
  });

  it('prints every address so that it reads back as itself, in its one canonical text', () => {
    const address = fc.oneof(
      fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }).map((value): Address => ({ family: 4, value })),
      fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((value): Address => ({ family: 6, value })),
      // Mostly-zero IPv6, where compression has choices to make.
      fc
        .array(fc.constantFrom(0n, 0n, 0n, 1n, 0xffffn), { minLength: 8, maxLength: 8 })
        .map((g): Address => ({ family: 6, value: g.reduce((n: bigint, x) => (n << 16n) | x, 0n) })),
    );
    fc.assert(
      fc.property(address, (a) => {
        const text = formatAddress(a);
        expect(parsed(text)).toEqual(a);
        expect(text).not.toMatch(/:::|(^|:)0[0-9a-f]|[A-F]/);
      }),
      { seed: 10, numRuns: 500 },
    );
  });
});
