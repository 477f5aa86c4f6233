import type { FilterRule } from '../../protocol/filter.ts';
import type { DeltaMap, DnsConfig, FullMap, RelayConfig } from '../../protocol/map.ts';
import type { Peer, SelfNode } from '../../protocol/node.ts';
import { ControlError } from './control-error.ts';

/** What one message changed, for the layers that react to it. */
export interface MapChange {
  full: boolean;
  peersUpserted: Peer[];
  peersRemoved: string[];
  filterChanged: boolean;
  selfChanged: boolean;
}

/**
 * The agent's copy of its network map, built from one full map and the deltas after it.
 * A delta that does not follow the current version is refused: the caller reconnects and
 * gets a full map instead of drifting.
 */
export class MapState {
  version = -1;
  self?: SelfNode;
  peers = new Map<string, Peer>();
  packetFilter: FilterRule[] = [];
  dns?: DnsConfig;
  relay?: RelayConfig;
  meshRanges?: string[];
  policyWarning?: string;
  /** The protocol version the server speaks, from its full map (absent from servers before 8, and saved maps before it). */
  serverProtocolVersion?: number;

  apply(msg: FullMap | DeltaMap): MapChange {
    if (msg.type === 'full') {
      const removed = [...this.peers.keys()].filter((id) => !msg.peers.some((p) => p.id === id));
      this.version = msg.version;
      this.self = msg.self;
      this.peers = new Map(msg.peers.map((p) => [p.id, p]));
      this.packetFilter = msg.packetFilter;
      this.dns = msg.dns;
      this.relay = msg.relay;
      this.meshRanges = msg.meshRanges;
      this.policyWarning = msg.policyWarning;
      this.serverProtocolVersion = msg.protocolVersion;
      return { full: true, peersUpserted: msg.peers, peersRemoved: removed, filterChanged: true, selfChanged: true };
    }
    if (msg.fromVersion !== this.version) {
      throw new ControlError(
        'map.out_of_step',
        `map delta from version ${msg.fromVersion} does not follow version ${this.version}`,
      );
    }
    this.version = msg.version;
    for (const p of msg.peersUpserted ?? []) this.peers.set(p.id, p);
    for (const id of msg.peersRemoved ?? []) this.peers.delete(id);
    if (msg.packetFilter) this.packetFilter = msg.packetFilter;
    if (msg.self) this.self = msg.self;
    if (msg.policyWarning !== undefined) this.policyWarning = msg.policyWarning ?? undefined;
    return {
      full: false,
      peersUpserted: msg.peersUpserted ?? [],
      peersRemoved: msg.peersRemoved ?? [],
      filterChanged: msg.packetFilter !== undefined,
      selfChanged: msg.self !== undefined,
    };
  }
}
