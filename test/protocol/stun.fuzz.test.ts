import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../protocol/ip/address.ts';
import {
  buildBindingRequest,
  buildBindingResponse,
  isStunMessage,
  parseBindingRequest,
  parseBindingResponse,
  STUN_HEADER_SIZE,
} from '../../protocol/stun.ts';
import { datagrams, fuzz } from '../support/fuzz.ts';

const transactionId = fc.uint8Array({ minLength: 12, maxLength: 12 });
const mapped = fc
  .oneof(
    fc.ipV4().map((address) => ({ address, port: 0 })),
    fc.ipV6().map((address) => ({ address, port: 0 })),
  )
  .chain((m) => fc.nat(65535).map((port) => ({ ...m, port })));
const requests = transactionId.map(buildBindingRequest);
const responses = fc.tuple(transactionId, mapped).map(([id, to]) => buildBindingResponse(id, to)!);
const stunDatagrams = datagrams(
  fc.oneof(
    requests,
    responses.filter((r) => r !== undefined),
  ),
);

describe('STUN parsing of untrusted datagrams', () => {
  it('never throws, and accepts only messages whose header and length agree', () => {
    fuzz(
      fc.property(stunDatagrams, (p) => {
        const request = parseBindingRequest(p);
        const response = parseBindingResponse(p);
        if (request !== undefined || response !== undefined) {
          expect(isStunMessage(p)).toBe(true);
          expect(p.length).toBeGreaterThanOrEqual(STUN_HEADER_SIZE);
        }
        if (request !== undefined) expect(request.length).toBe(12);
        if (response !== undefined) {
          expect(response.transactionId.length).toBe(12);
          expect(response.mapped.port).toBeGreaterThanOrEqual(0);
          expect(response.mapped.port).toBeLessThanOrEqual(65535);
        }
      }),
      { runs: 300 },
    );
  });

  it('reads back every Binding response it builds', () => {
    fuzz(
      fc.property(transactionId, mapped, (id, to) => {
        const parsed = parseBindingResponse(buildBindingResponse(id, to)!);
        expect(parsed?.transactionId).toEqual(id);
        expect(parsed?.mapped.port).toBe(to.port);
        expect(parseAddress(parsed!.mapped.address)).toEqual(parseAddress(to.address.replace(/^::ffff:(?=.*\.)/, '')));
      }),
    );
  });
});
