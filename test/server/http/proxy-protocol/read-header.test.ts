import { describe, expect, it } from 'vitest';
import { readProxyHeader } from '../../../../server/http/proxy-protocol/read-header.ts';
import { MAX_V1_LENGTH } from '../../../../server/http/proxy-protocol/v1.ts';
import { MAX_V2_BODY, V2_SIGNATURE } from '../../../../server/http/proxy-protocol/v2.ts';
import { v2Header } from './v2-headers.ts';

const REQUEST = Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
const ascii = (s: string) => Buffer.from(s, 'latin1');

function header(bytes: Buffer) {
  const read = readProxyHeader(bytes);
  if (read.kind !== 'header') throw new Error(`expected a header, got ${JSON.stringify(read)}`);
  return read.header;
}

function refusal(bytes: Buffer): string {
  const read = readProxyHeader(bytes);
  if (read.kind !== 'refused') throw new Error(`expected a refusal, got ${JSON.stringify(read)}`);
  return read.code;
}

describe('PROXY protocol v2 (binary)', () => {
  it('names an IPv4 client and its port, and says how many bytes the header took', () => {
    const h = v2Header({ source: ['203.0.113.7', 51000], destination: ['10.0.0.11', 8080] });
    expect(header(Buffer.concat([h, REQUEST]))).toEqual({
      version: 2,
      command: 'proxy',
      source: { address: '203.0.113.7', port: 51000 },
      destination: { address: '10.0.0.11', port: 8080 },
      length: h.length,
    });
  });

  it('names an IPv6 client in canonical text', () => {
    const h = v2Header({ source: ['2001:DB8:0:0::1', 443], destination: ['fd00::b', 8080] });
    expect(header(h).source).toEqual({ address: '2001:db8::1', port: 443 });
    expect(header(h).length).toBe(16 + 36);
  });

  it('skips TLVs that tile the rest of the header', () => {
    const tlvs = Buffer.from([0x04, 0x00, 0x02, 0xaa, 0xbb, 0x05, 0x00, 0x00]);
    const h = v2Header({ source: ['192.0.2.1', 1], destination: ['192.0.2.2', 2], tlvs });
    expect(header(Buffer.concat([h, REQUEST])).length).toBe(16 + 12 + tlvs.length);
  });

  it('reads LOCAL (a health check) as no client, whatever its body holds', () => {
    const h = v2Header({ command: 0, family: 0x11, source: ['127.0.0.1', 1], destination: ['127.0.0.1', 2] });
    expect(header(h)).toEqual({ version: 2, command: 'local', length: h.length });
    expect(header(v2Header({ command: 0, family: 0 }))).toEqual({ version: 2, command: 'local', length: 16 });
  });

  it('reads PROXY with an unspecified family as no client named', () => {
    expect(header(v2Header({ command: 1, family: 0 })).source).toBeUndefined();
  });

  it('waits while the bytes can still become a header: signature, fixed part, body', () => {
    const h = v2Header({ source: ['203.0.113.7', 1], destination: ['10.0.0.1', 2] });
    for (const n of [0, 1, 11, 12, 15, 16, h.length - 1]) {
      expect(readProxyHeader(h.subarray(0, n)), `${n} bytes`).toEqual({ kind: 'incomplete' });
    }
  });

  it('refuses another version or command', () => {
    expect(refusal(v2Header({ version: 1, source: ['192.0.2.1', 1], destination: ['192.0.2.2', 2] }))).toBe(
      'proxy_protocol.malformed',
    );
    expect(refusal(v2Header({ command: 2, source: ['192.0.2.1', 1], destination: ['192.0.2.2', 2] }))).toBe(
      'proxy_protocol.malformed',
    );
  });

  it('refuses UDP, Unix sockets and unknown families', () => {
    for (const family of [0x12, 0x22, 0x31, 0x32, 0x41, 0x13]) {
      expect(
        refusal(v2Header({ family, source: ['192.0.2.1', 1], destination: ['192.0.2.2', 2] })),
        `0x${family.toString(16)}`,
      ).toBe('proxy_protocol.malformed');
    }
  });

  it('refuses a body too short for its addresses (truncated)', () => {
    const h = v2Header({ source: ['192.0.2.1', 1], destination: ['192.0.2.2', 2] });
    const short = Buffer.from(h.subarray(0, 16 + 8));
    short.writeUInt16BE(8, 14);
    expect(refusal(short)).toBe('proxy_protocol.malformed');
    const v6 = v2Header({ family: 0x21, source: ['192.0.2.1', 1], destination: ['192.0.2.2', 2] });
    expect(refusal(v6)).toBe('proxy_protocol.malformed');
  });

  it('refuses TLVs cut short or running past the header', () => {
    const at = (tlvs: number[]) =>
      refusal(v2Header({ source: ['192.0.2.1', 1], destination: ['192.0.2.2', 2], tlvs: Buffer.from(tlvs) }));
    expect(at([0x04, 0x00])).toBe('proxy_protocol.malformed');
    expect(at([0x04, 0x00, 0x05, 0xaa])).toBe('proxy_protocol.malformed');
  });

  it('refuses a header longer than the bound as soon as its length says so, before buffering it', () => {
    const h = v2Header({ source: ['192.0.2.1', 1], destination: ['192.0.2.2', 2], length: MAX_V2_BODY + 1 });
    expect(refusal(h.subarray(0, 16))).toBe('proxy_protocol.too_large');
    const atBound = v2Header({ source: ['192.0.2.1', 1], destination: ['192.0.2.2', 2], length: MAX_V2_BODY });
    expect(readProxyHeader(atBound)).toEqual({ kind: 'incomplete' });
  });

  it('refuses a wrong signature at the first byte that differs', () => {
    const h = v2Header({ source: ['192.0.2.1', 1], destination: ['192.0.2.2', 2] });
    const spoilt = Buffer.from(h);
    spoilt[6] = 0x0b;
    expect(refusal(spoilt.subarray(0, 7))).toBe('proxy_protocol.missing');
    expect(refusal(Buffer.concat([V2_SIGNATURE.subarray(0, 4), ascii('GET ')]))).toBe('proxy_protocol.missing');
  });
});

describe('PROXY protocol v1 (text)', () => {
  it('names a TCP4 or TCP6 client', () => {
    const line = ascii('PROXY TCP4 203.0.113.7 10.0.0.11 51000 8080\r\n');
    expect(header(Buffer.concat([line, REQUEST]))).toEqual({
      version: 1,
      command: 'proxy',
      source: { address: '203.0.113.7', port: 51000 },
      destination: { address: '10.0.0.11', port: 8080 },
      length: line.length,
    });
    expect(header(ascii('PROXY TCP6 2001:db8::0:1 fd00::b 1 65535\r\n')).source).toEqual({
      address: '2001:db8::1',
      port: 1,
    });
  });

  it('reads UNKNOWN as no client named', () => {
    for (const text of ['PROXY UNKNOWN ffff:: ffff:: 1 2\r\n', 'PROXY UNKNOWN\r\n']) {
      const line = ascii(text);
      expect(header(Buffer.concat([line, REQUEST]))).toEqual({ version: 1, command: 'local', length: line.length });
    }
  });

  it('waits for the CRLF', () => {
    expect(readProxyHeader(ascii('PROX'))).toEqual({ kind: 'incomplete' });
    expect(readProxyHeader(ascii('PROXY TCP4 203.0.113.7 10.0.0.11 51000 80'))).toEqual({ kind: 'incomplete' });
  });

  it('refuses a line without CRLF within the protocol bound', () => {
    expect(refusal(ascii(`PROXY TCP6 ${'a'.repeat(MAX_V1_LENGTH)}`))).toBe('proxy_protocol.too_large');
  });

  it.each([
    ['an unknown protocol', 'PROXY UDP4 192.0.2.1 192.0.2.2 1 2'],
    ['a missing field', 'PROXY TCP4 192.0.2.1 192.0.2.2 1'],
    ['an extra field', 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3'],
    ['an IPv6 address under TCP4', 'PROXY TCP4 ::1 192.0.2.2 1 2'],
    ['an IPv4 address under TCP6', 'PROXY TCP6 192.0.2.1 ::1 1 2'],
    ['an IPv4 tail under TCP6', 'PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2'],
    ['a leading zero in an address', 'PROXY TCP4 192.0.2.01 192.0.2.2 1 2'],
    ['a port past 65535', 'PROXY TCP4 192.0.2.1 192.0.2.2 65536 2'],
    ['a port with a leading zero', 'PROXY TCP4 192.0.2.1 192.0.2.2 080 2'],
    ['a double space', 'PROXY TCP4  192.0.2.1 192.0.2.2 1 2'],
  ])('refuses %s', (_what, line) => {
    expect(refusal(ascii(`${line}\r\n`))).toBe('proxy_protocol.malformed');
  });
});

describe('neither version', () => {
  it('refuses plain HTTP from a peer that must send a header, quoting its first bytes in hex', () => {
    const read = readProxyHeader(REQUEST);
    expect(read).toMatchObject({ kind: 'refused', code: 'proxy_protocol.missing' });
    expect((read as { message: string }).message).toContain(REQUEST.subarray(0, 16).toString('hex'));
  });
});
