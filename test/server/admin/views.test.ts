import { describe, expect, it } from 'vitest';
import { generateMachineKey } from '../../../client/control/machine-key.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import { NodeView } from '../../../protocol/admin.ts';
import { Peer, SelfNode } from '../../../protocol/node.ts';
import { nodeView } from '../../../server/admin/views.ts';
import { LiveNode } from '../../../server/netmap/live-node.ts';
import type { NodeRecord } from '../../../server/store/records.ts';

/** A row as a server before time bounds could have written it: its times past every date. */
const record = (times: Partial<Pick<NodeRecord, 'expiresAt' | 'lastSeen' | 'createdAt'>>): NodeRecord => ({
  id: 'n-1',
  name: 'web',
  machineKey: generateMachineKey().publicKey,
  wireguardKey: generateKeyPair().publicKey,
  ipv4: '100.64.0.1',
  ipv6: 'fd7a:115c:a1e0::1',
  tags: ['tag:web'],
  endpoints: [],
  advertisedRoutes: [],
  approvedRoutes: [],
  ephemeral: false,
  createdAt: 1_800_000_000_000,
  ...times,
});

describe('a stored time out of range never makes a read fail', () => {
  for (const ms of [1e16, 8.64e15 + 1, -1e16, NaN]) {
    it(`${ms}: the admin view and the map entries still build, with times the wire accepts`, () => {
      const r = record({ expiresAt: ms, lastSeen: ms, createdAt: ms });
      expect(() => NodeView.parse(nodeView(r, () => undefined, { online: false }))).not.toThrow();
      const live = new LiveNode(r, undefined);
      expect(() => Peer.parse(live.peer())).not.toThrow();
      expect(() => SelfNode.parse(live.self())).not.toThrow();
    });
  }
});
