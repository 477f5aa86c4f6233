import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildBindingRequest, parseBindingResponse } from '../../../protocol/stun.ts';
import { StunResponder } from '../../../server/relay/stun.ts';
import { datagrams, fuzz } from '../../support/fuzz.ts';

const sources = fc.record({ address: fc.oneof(fc.ipV4(), fc.ipV6()), port: fc.nat(65535) });
const requests = fc.uint8Array({ minLength: 12, maxLength: 12 }).map(buildBindingRequest);

describe("the server's STUN responder, given any datagram from any source", () => {
  it('never throws, and answers only Binding requests, with their transaction id and the source', () => {
    fuzz(
      fc.property(fc.array(fc.tuple(datagrams(requests), sources), { maxLength: 10 }), (arrivals) => {
        const responder = new StunResponder(() => 0, { perSourceBurst: 3, maxSources: 4 });
        for (const [packet, from] of arrivals) {
          const answer = responder.answer(packet, from);
          if (answer === undefined) continue;
          const parsed = parseBindingResponse(answer);
          expect(parsed?.transactionId).toEqual(packet.slice(8, 20));
          expect(parsed?.mapped.port).toBe(from.port);
        }
        expect(responder.counts.answered).toBeLessThanOrEqual(arrivals.length);
      }),
      { runs: 200 },
    );
  });
});
