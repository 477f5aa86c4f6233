import { jsonText, type JsonText } from '../../protocol/json-text.ts';
import type { Peer, SelfNode } from '../../protocol/node.ts';
import type { PathSummary } from '../../protocol/path-report.ts';
import type { RouteHealthReport, RouteState } from '../../protocol/route-health.ts';
import type { PolicyNode } from '../../policy/index.ts';
import type { NodeRecord, UserRecord } from '../store/records.ts';
import { isoTime } from '../../protocol/time.ts';

/**
 * A node as the map engine holds it: the stored record, who owns it, whether it is connected,
 * and a revision that grows whenever anything its peers see changes. The peer's wire form is
 * serialized once per revision and reused for every peer that receives it.
 */
export class LiveNode {
  revision = 1;
  online = false;
  /** Where the server's UDP port last saw this node (soft state: relearned after a restart). */
  observedEndpoint: string | undefined;
  /** The router's last route-health report on its open stream (soft state: gone with the stream). */
  routeHealth: RouteHealthReport | undefined;
  /** How it reaches its peers, as its open stream last said (soft state: gone with the stream). */
  paths: PathSummary | undefined;
  /** The subnet prefixes this node is the elected primary of (server/routes/). */
  primaryRoutes: readonly string[] = [];
  /** Its advertised routes' parts in their elections, for its own map; absent when it advertises none. */
  routeStates: RouteState[] | undefined;
  /** Peer JSON by variant key, for the current revision. */
  private peerJsonCache = new Map<string, JsonText<Peer>>();
  private peerJsonRevision = 0;

  constructor(
    public record: NodeRecord,
    public owner: UserRecord | undefined,
  ) {}

  get id(): string {
    return this.record.id;
  }

  /** Tagged nodes have no user identity in the policy, whoever created them. */
  policyNode(): PolicyNode {
    const r = this.record;
    const isUserNode = r.tags.length === 0 && this.owner !== undefined;
    return {
      id: r.id,
      name: r.name,
      user: isUserNode ? this.owner!.email : undefined,
      idpGroups: isUserNode ? this.owner!.groups : undefined,
      tags: r.tags,
      ipv4: r.ipv4,
      ipv6: r.ipv6,
      routableIPs: r.advertisedRoutes,
      approvedRoutes: r.approvedRoutes,
    };
  }

  /** The node as a peer sees it; `variant` is what differs by viewer (exit routes, `via` routers). */
  peer(variant: PeerVariant = DEFAULT_VARIANT): Peer {
    const r = this.record;
    const addresses = [`${r.ipv4}/32`, `${r.ipv6}/128`];
    const primaryRoutes = variant.primaryRoutes ?? this.primaryRoutes;
    return {
      id: r.id,
      name: r.name,
      wireguardKey: r.wireguardKey,
      addresses,
      allowedIPs: [...addresses, ...primaryRoutes],
      ...(primaryRoutes.length > 0 && { primaryRoutes: [...primaryRoutes] }),
      ...(variant.exitRoutes && variant.exitRoutes.length > 0 && { exitRoutes: [...variant.exitRoutes] }),
      endpoints: r.endpoints,
      observedEndpoint: this.observedEndpoint,
      user: r.tags.length === 0 ? this.owner?.email : undefined,
      tags: r.tags,
      online: this.online,
      lastSeen: r.lastSeen === undefined ? undefined : isoTime(r.lastSeen),
      keyExpiry: r.expiresAt === undefined ? undefined : isoTime(r.expiresAt),
    };
  }

  /** The peer's wire form, written once per revision and variant. */
  peerJson(variant: PeerVariant = DEFAULT_VARIANT): JsonText<Peer> {
    if (this.peerJsonRevision !== this.revision) {
      this.peerJsonCache.clear();
      this.peerJsonRevision = this.revision;
    }
    let json = this.peerJsonCache.get(variant.key);
    if (!json) this.peerJsonCache.set(variant.key, (json = jsonText(this.peer(variant))));
    return json;
  }

  self(): SelfNode {
    const r = this.record;
    return {
      ...this.peer(),
      machineKey: r.machineKey,
      ipv4: r.ipv4,
      ipv6: r.ipv6,
      ephemeral: r.ephemeral,
      advertisedRoutes: r.advertisedRoutes,
      approvedRoutes: r.approvedRoutes,
      ...(r.routePriority !== undefined && { routePriority: r.routePriority }),
      ...(this.routeStates && this.routeStates.length > 0 && { routes: this.routeStates }),
    };
  }

  /** Replaces the record; says whether anything the policy looks at changed. */
  update(record: NodeRecord, owner: UserRecord | undefined): { policyChanged: boolean } {
    const before = JSON.stringify(this.policyNode());
    this.record = record;
    this.owner = owner;
    this.revision++;
    return { policyChanged: JSON.stringify(this.policyNode()) !== before };
  }
}

/**
 * What one viewer sees differently of a peer: the exit routes it may use through it, and the
 * subnet routes a `via` grant sends through it instead of the elected primary. Equal variants
 * have equal keys, so their JSON is written once per revision.
 */
export interface PeerVariant {
  key: string;
  primaryRoutes?: readonly string[];
  exitRoutes?: readonly string[];
}

export const DEFAULT_VARIANT: PeerVariant = { key: '' };
