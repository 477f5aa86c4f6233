import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MapState } from '../../../client/control/map-state.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import { ServerMessage, type DeltaMap, type FullMap } from '../../../protocol/map.ts';
import { Peer } from '../../../protocol/node.ts';
import { expectCodedError, fuzz, mutatedText } from '../../support/fuzz.ts';

const ids = ['n-a', 'n-b', 'n-c', 'n-d'];
const wgKeys = ids.map(() => generateKeyPair().publicKey);
const peer = (i: number, online: boolean): Peer => ({
  id: ids[i]!,
  name: `node${i}`,
  wireguardKey: wgKeys[i]!,
  addresses: [`100.64.0.${i + 1}/32`],
  allowedIPs: [`100.64.0.${i + 1}/32`],
  endpoints: [],
  tags: [],
  online,
});
const self = {
  ...peer(0, true),
  machineKey: Buffer.from(ed25519.getPublicKey(ed25519.utils.randomSecretKey())).toString('base64'),
  ipv4: '100.64.0.1',
  ipv6: 'fd7a:115c:a1e0::1',
  ephemeral: false,
  advertisedRoutes: [],
  approvedRoutes: [],
};
const peers = fc.uniqueArray(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.boolean()), {
  selector: ([i]) => i,
  maxLength: 3,
});
const version = fc.nat(6);
const full = fc.tuple(version, peers).map(([v, ps]): FullMap => ({
  type: 'full',
  version: v,
  self,
  peers: ps.map(([i, o]) => peer(i, o)),
  packetFilter: [],
  dns: { domain: 'mesh.test', nameservers: [] },
  relay: { udpPort: 41641, wsPath: '/relay' },
}));
const delta = fc
  .tuple(version, version, peers, fc.subarray(ids), fc.option(fc.string(), { nil: undefined }))
  .map(([from, v, up, removed, policyWarning]): DeltaMap => ({
    type: 'delta',
    fromVersion: from,
    version: v,
    peersUpserted: up.map(([i, o]) => peer(i, o)),
    peersRemoved: removed,
    ...(policyWarning !== undefined && { policyWarning }),
  }));
/** What arrives on the stream: maps in and out of step, garbled maps, any JSON, any text. */
const frames = fc.oneof(
  full.map((m) => JSON.stringify(m)),
  delta.map((m) => JSON.stringify(m)),
  delta.map((m) => JSON.stringify({ ...m, peersUpserted: [{ id: 'n-x' }] })),
  mutatedText(fc.oneof(full, delta).map((m) => JSON.stringify(m))),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string(),
);

const snapshot = (s: MapState) =>
  JSON.stringify({
    version: s.version,
    self: s.self,
    peers: [...s.peers],
    filter: s.packetFilter,
    warn: s.policyWarning,
  });

describe("the agent's map, given any sequence of stream messages", () => {
  it('takes a full map, then only the deltas that follow it; refuses the rest with a code and leaves the map as it was', () => {
    fuzz(
      fc.property(fc.array(frames, { minLength: 1, maxLength: 12 }), (stream) => {
        const state = new MapState();
        const model = new Map<string, Peer>();
        for (const text of stream) {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            continue; // the stream closes on a frame that is not JSON
          }
          const parsed = ServerMessage.safeParse(json);
          if (!parsed.success) continue;
          const msg = parsed.data;
          if (msg.type !== 'full' && msg.type !== 'delta') continue;
          const before = snapshot(state);
          try {
            state.apply(msg);
          } catch (err) {
            expectCodedError(err, 'map');
            expect(msg.type).toBe('delta');
            expect(snapshot(state)).toBe(before);
            state.version = -1; // as the stream does: resync with a full map
            continue;
          }
          if (msg.type === 'full') {
            model.clear();
            for (const p of msg.peers) model.set(p.id, p);
          } else {
            for (const p of msg.peersUpserted ?? []) model.set(p.id, p);
            for (const id of msg.peersRemoved ?? []) model.delete(id);
          }
          expect(state.version).toBe(msg.version);
          expect([...state.peers.entries()].sort()).toEqual([...model.entries()].sort());
          for (const p of state.peers.values()) expect(Peer.safeParse(p).success).toBe(true);
        }
      }),
      { runs: 200 },
    );
  });
});
