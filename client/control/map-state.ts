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
  /** The change-log position of the last map message (protocol 15): what a resume on another replica starts from. */
  changeSeq?: number;

  apply(msg: FullMap | DeltaMap): MapChange {
    if (msg.type === 'full') {
      const incoming = new Set(msg.peers.map((p) => p.id));
      const removed = [...this.peers.keys()].filter((id) => !incoming.has(id));
      this.version = msg.version;
      this.self = msg.self;
      this.peers = new Map(msg.peers.map((p) => [p.id, p]));
      this.packetFilter = msg.packetFilter;
      this.dns = msg.dns;
      this.relay = msg.relay;
      this.meshRanges = msg.meshRanges;
      this.policyWarning = msg.policyWarning;
      this.serverProtocolVersion = msg.protocolVersion;
      this.changeSeq = msg.changeSeq;
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
    // A resume delta from another replica brings that replica's settings.
    if (msg.dns) this.dns = msg.dns;
    if (msg.relay) this.relay = msg.relay;
    if (msg.meshRanges) this.meshRanges = msg.meshRanges;
    if (msg.protocolVersion !== undefined) this.serverProtocolVersion = msg.protocolVersion;
    // A delta from a server before 15 says nothing of the log: the old seq would claim changes it lacks.
    this.changeSeq = msg.changeSeq;
    return {
      full: false,
      peersUpserted: msg.peersUpserted ?? [],
      peersRemoved: msg.peersRemoved ?? [],
      filterChanged: msg.packetFilter !== undefined,
      selfChanged: msg.self !== undefined,
    };
  }
}
