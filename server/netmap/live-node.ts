import { jsonText, type JsonText } from '../../protocol/json-text.ts';
import type { Peer, SelfNode } from '../../protocol/node.ts';
import type { RouteHealthReport } from '../../protocol/route-health.ts';
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
  private peerJsonCache?: { revision: number; json: JsonText<Peer> };

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

  peer(): Peer {
    const r = this.record;
    const addresses = [`${r.ipv4}/32`, `${r.ipv6}/128`];
    return {
      id: r.id,
      name: r.name,
      wireguardKey: r.wireguardKey,
      addresses,
      allowedIPs: [...addresses, ...r.approvedRoutes],
      endpoints: r.endpoints,
      observedEndpoint: this.observedEndpoint,
      user: r.tags.length === 0 ? this.owner?.email : undefined,
      tags: r.tags,
      online: this.online,
      lastSeen: r.lastSeen === undefined ? undefined : isoTime(r.lastSeen),
      keyExpiry: r.expiresAt === undefined ? undefined : isoTime(r.expiresAt),
    };
  }

  peerJson(): JsonText<Peer> {
    if (this.peerJsonCache?.revision !== this.revision) {
      this.peerJsonCache = { revision: this.revision, json: jsonText(this.peer()) };
    }
    return this.peerJsonCache.json;
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
