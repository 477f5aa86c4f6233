import { describe, expect, it } from 'vitest';
import {
  buildBindingRequest,
  buildBindingResponse,
  isStunMessage,
  parseBindingRequest,
  parseBindingResponse,
} from '../../protocol/stun.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
/** RFC 5769 §2.2/2.3: the sample responses' transaction id and their XOR-MAPPED-ADDRESS values. */
const RFC5769_TXID = hex('b7e7a701 bc34d686 fa87dfae');
const RFC5769_XMA_V4 = hex('0001 a147 e112a643');
const RFC5769_XMA_V6 = hex('0002 a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9');
const txid = (n: number) => new Uint8Array(12).fill(n);
const response = (transactionId: Uint8Array, ...attrs: Array<[number, Uint8Array]>) =>
  message(0x0101, transactionId, ...attrs);

/** A message of `type` with the given attributes and no FINGERPRINT, built by hand. */
function message(type: number, transactionId: Uint8Array, ...attrs: Array<[number, Uint8Array]>): Uint8Array {
  const body = Buffer.concat(
    attrs.map(([type, value]) => {
      const head = Buffer.alloc(4);
      head.writeUInt16BE(type, 0);
      head.writeUInt16BE(value.length, 2);
      return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
    }),
  );
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length, 2);
  header.writeUInt32BE(0x2112a442, 4);
  Buffer.from(transactionId).copy(header, 8);
  return new Uint8Array(Buffer.concat([header, body]));
}

describe('STUN Binding codec (RFC 8489)', () => {
  it('decodes the RFC 5769 sample XOR-MAPPED-ADDRESS for IPv4 and IPv6', () => {
    expect(parseBindingResponse(response(RFC5769_TXID, [0x0020, RFC5769_XMA_V4]))?.mapped).toEqual({
      address: '192.0.2.1',
      port: 32853,
    });
    expect(parseBindingResponse(response(RFC5769_TXID, [0x0020, RFC5769_XMA_V6]))?.mapped).toEqual({
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
    });
  });

  it('encodes the same bytes as the RFC 5769 samples (the IPv6 mask includes the transaction id)', () => {
    const v4 = buildBindingResponse(RFC5769_TXID, { address: '192.0.2.1', port: 32853 })!;
    expect(Buffer.from(v4.subarray(20, 32)).toString('hex')).toBe(
      `00200008${Buffer.from(RFC5769_XMA_V4).toString('hex')}`,
    );
    const v6 = buildBindingResponse(RFC5769_TXID, { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 })!;
    expect(Buffer.from(v6.subarray(24, 44)).toString('hex')).toBe(Buffer.from(RFC5769_XMA_V6).toString('hex'));
  });

  it('round-trips a request and its response, with a FINGERPRINT', () => {
    const request = buildBindingRequest(txid(7));
    expect(request.length).toBe(28);
    expect(isStunMessage(request)).toBe(true);
    expect(parseBindingRequest(request)).toEqual(txid(7));
    for (const mapped of [
      { address: '203.0.113.9', port: 1 },
      { address: 'fe80::1', port: 65535 },
      { address: '::', port: 4000 },
    ]) {
      const r = parseBindingResponse(buildBindingResponse(txid(7), mapped)!);
      expect(r).toEqual({ transactionId: txid(7), mapped });
    }
  });

  it('answers an IPv4 sender seen on a dual-stack socket as IPv4', () => {
    const r = parseBindingResponse(buildBindingResponse(txid(1), { address: '::ffff:198.51.100.4', port: 9 })!);
    expect(r?.mapped).toEqual({ address: '198.51.100.4', port: 9 });
  });

  it('falls back to a plain MAPPED-ADDRESS', () => {
    expect(parseBindingResponse(response(txid(2), [0x0001, hex('0001 1f90 c6336407')]))?.mapped).toEqual({
      address: '198.51.100.7',
      port: 8080,
    });
  });

  describe('drops malformed or foreign datagrams without throwing', () => {
    const good = buildBindingRequest(txid(3));
    const mutate = (f: (b: Uint8Array) => void) => {
      const b = good.slice();
      f(b);
      return b;
    };
    it('but accepts a request with only attributes it may ignore (SOFTWARE)', () => {
      expect(parseBindingRequest(message(0x0001, txid(3), [0x8022, new TextEncoder().encode('x')]))).toEqual(txid(3));
    });
    const cases: Array<[string, Uint8Array]> = [
      ['empty', new Uint8Array(0)],
      ['shorter than a header', good.subarray(0, 19)],
      ['top bits set', mutate((b) => (b[0] = 0xc0))],
      ['wrong magic cookie', mutate((b) => (b[4] = 0x22))],
      ['length not matching the datagram', mutate((b) => (b[3] = 12))],
      ['length not a multiple of 4', good.subarray(0, 26)],
      ['fingerprint wrong', mutate((b) => (b[27] = b[27]! ^ 1))],
      ['transaction id altered under the fingerprint', mutate((b) => (b[10] = b[10]! ^ 1))],
      ['attribute overrunning the message', mutate((b) => (b[23] = 40))],
      ['a Binding response instead of a request', buildBindingResponse(txid(3), { address: '192.0.2.1', port: 1 })!],
      ['an unknown comprehension-required attribute', message(0x0001, txid(3), [0x0003, hex('00000000')])],
      ['a WireGuard transport header', hex('04000000 42a41221 0000000000000000 00000000')],
    ];
    for (const [what, packet] of cases) {
      it(what, () => {
        expect(() => parseBindingRequest(packet)).not.toThrow();
        expect(parseBindingRequest(packet)).toBeUndefined();
      });
    }

    it('a response with a bad family or address length, or for a different message type', () => {
      expect(parseBindingResponse(response(txid(4), [0x0020, hex('0003 a147 e112a643')]))).toBeUndefined();
      expect(parseBindingResponse(response(txid(4), [0x0020, hex('0002 a147 e112a643')]))).toBeUndefined();
      expect(parseBindingResponse(response(txid(4)))).toBeUndefined();
      expect(parseBindingResponse(buildBindingRequest(txid(4)))).toBeUndefined();
    });

    it('random bytes, many times', () => {
      for (let i = 0; i < 2000; i++) {
        const p = new Uint8Array(20 + (i % 60)).map(() => Math.floor(Math.random() * 256));
        if (i % 2 === 0) p.set([0x00, 0x01, 0, p.length - 20, 0x21, 0x12, 0xa4, 0x42], 0);
        expect(() => [parseBindingRequest(p), parseBindingResponse(p)]).not.toThrow();
      }
    });
  });

  it('refuses to build with a transaction id that is not 12 bytes (a programming error)', () => {
    expect(() => buildBindingRequest(new Uint8Array(8))).toThrow(TypeError);
  });
});
