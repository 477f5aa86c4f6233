import { describe, expect, it } from 'vitest';
import { jsonArray, jsonObject, jsonText } from '../../protocol/json-text.ts';
import { DeltaMap, Goodbye } from '../../protocol/map.ts';

describe('JSON text of wire types', () => {
  it('puts a message together from its parts as JSON.stringify would write it whole', () => {
    const peersRemoved = ['n1', 'n"2'];
    const text = jsonObject<DeltaMap>({
      type: jsonText('delta'),
      version: jsonText(5),
      fromVersion: jsonText(4),
      peersRemoved: jsonArray(peersRemoved.map((id) => jsonText(id))),
      packetFilter: undefined,
      policyWarning: jsonText<string | null>(null),
    });
    expect(text).toBe(
      JSON.stringify({
        type: 'delta',
        version: 5,
        fromVersion: 4,
        peersRemoved,
        policyWarning: null,
      } satisfies DeltaMap),
    );
    expect(DeltaMap.parse(JSON.parse(text))).toMatchObject({ peersRemoved });
  });

  it('writes an empty object and an empty list', () => {
    expect(jsonObject<{ a?: number }>({})).toBe('{}');
    expect(jsonArray([])).toBe('[]');
  });

  it('types a message by its schema', () => {
    const bye: Goodbye = { type: 'goodbye', code: 'node.deleted', message: 'gone' };
    expect(Goodbye.parse(JSON.parse(jsonText(bye)))).toEqual(bye);
  });
});
