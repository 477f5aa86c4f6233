import type { Peer, SelfNode } from '../../protocol/node.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { PeerPath } from '../paths/path-table.ts';
import type { DeviceState } from '../wireguard/uapi-format.ts';
import type { AgentState, PeerStatus, StatusResponse } from './local-api/messages.ts';
import type { OfferedRoute } from '../routes/accepted-routes.ts';
import type { ServedService } from '../serve/served-services.ts';
import type { PathSummary } from '../../protocol/path-report.ts';

/**
 * `trellis status` as data: who the map says the peers are, joined by public key with what
 * WireGuard itself reports about them (endpoint, last handshake, bytes). Pure, so the joining
 * rules are tested without a device.
 */
interface StatusInputs {
  state: AgentState;
  connected: boolean;
  iface: string;
  listenPort: number;
  mapVersion: number;
  /** The server's protocol version, from its map. */
  serverProtocolVersion?: number;
  relayTransport?: StatusResponse['relayTransport'];
  dns?: StatusResponse['dns'];
  serverUrl?: string;
  serverUrls?: readonly string[];
  connectedTo?: string;
  self?: SelfNode;
  peers: Iterable<Peer>;
  device?: DeviceState;
  policyWarning?: string;
  lastError?: string;
  now?: number;
  /** When the node last registered with a credential (ms), so the key's lifetime is known. */
  signedInAt?: number;
  workload?: StatusResponse['workload'];
  /** Where relayed peers point (a peer's endpoint there means it is relayed). */
  relayEndpoint?: string;
  paths?: (peerId: string) => PeerPath | undefined;
  /** Subnet routes peers offer and whether this machine takes them (client/routes). */
  offeredRoutes?: readonly OfferedRoute[];
  exitNode?: StatusResponse['exitNode'];
  exitNodeOptions?: StatusResponse['exitNodeOptions'];
  /** The mesh's services as the map names them. */
  meshServices?: StatusResponse['services'];
  /** The services this node serves (`--serve`), and the names asked for that the map does not know. */
  served?: { served: readonly ServedService[]; unknown: readonly string[] };
}

const DAY_MS = 86_400_000;

/**
 * The server's view of this node's paths (protocol/path-report.ts): its peers counted by path.
 * A peer WireGuard never completed a handshake with has no path yet, whatever its endpoint.
 */
export function pathSummary(peers: readonly PeerStatus[]): PathSummary {
  const summary = { direct: 0, relay: 0, none: 0 };
  for (const p of peers) summary[p.lastHandshake === undefined ? 'none' : (p.path ?? 'none')]++;
  return summary;
}

export function statusView(i: StatusInputs): StatusResponse {
  const byKey = new Map((i.device?.peers ?? []).map((p) => [p.publicKey, p]));
  const peers = [...i.peers]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((p): PeerStatus => {
      const d = byKey.get(p.wireguardKey);
      const path = i.paths?.(p.id);
      const latencyMs = path?.latencyMs;
      // Relayed unless the path manager holds a direct path (or there is no relay at all).
      const relay = path?.direct === undefined ? i.relayEndpoint : undefined;
      return {
        id: p.id,
        name: p.name,
        publicKey: p.wireguardKey,
        addresses: p.addresses,
        allowedIPs: p.allowedIPs,
        tags: p.tags,
        online: p.online,
        rxBytes: d?.rxBytes ?? 0,
        txBytes: d?.txBytes ?? 0,
        ...(p.user !== undefined && { user: p.user }),
        // The path the peer is on, not where WireGuard points this instant: a path trial points
        // a relayed peer at each candidate for a few milliseconds at a time.
        ...(d?.endpoint !== undefined && {
          endpoint: relay ?? path?.direct ?? d.endpoint,
          path: relay === undefined ? ('direct' as const) : ('relay' as const),
        }),
        ...(latencyMs !== undefined && { latencyMs: Math.round(latencyMs * 10) / 10 }),
        ...(d?.lastHandshake && { lastHandshake: d.lastHandshake.toISOString() }),
      };
    });
  const s = i.self;
  return {
    state: i.state,
    connected: i.connected,
    interface: i.iface,
    listenPort: i.listenPort,
    mapVersion: i.mapVersion,
    protocol: {
      agent: PROTOCOL_VERSION,
      ...(i.serverProtocolVersion !== undefined && { server: i.serverProtocolVersion }),
    },
    ...(i.relayTransport && { relayTransport: i.relayTransport }),
    ...(i.dns && { dns: i.dns }),
    ...(i.exitNode && { exitNode: i.exitNode }),
    ...(i.exitNodeOptions && { exitNodeOptions: i.exitNodeOptions }),
    peers,
    ...(i.serverUrl && { serverUrl: i.serverUrl }),
    ...(i.serverUrls && { serverUrls: [...i.serverUrls] }),
    ...(i.connectedTo && { connectedTo: i.connectedTo }),
    ...(s && {
      self: {
        id: s.id,
        name: s.name,
        publicKey: s.wireguardKey,
        ipv4: s.ipv4,
        ipv6: s.ipv6,
        tags: s.tags,
        ...(s.user !== undefined && { user: s.user }),
        ...(s.advertisedRoutes.length > 0 && {
          routes: s.advertisedRoutes.map((prefix) => {
            const election = s.routes?.find((r) => r.prefix === prefix);
            const health = election?.health;
            return {
              prefix,
              approved: s.approvedRoutes.includes(prefix),
              ...(election && { role: election.role, reason: election.reason }),
              ...(health && { health: { healthy: health.healthy, ...(health.error && { error: health.error }) } }),
            };
          }),
        }),
        ...servedStatus(i.served),
      },
    }),
    ...(i.meshServices?.length && { services: i.meshServices }),
    ...(i.offeredRoutes?.length && { subnetRoutes: i.offeredRoutes.map((r) => ({ ...r })) }),
    ...(i.policyWarning && { policyWarning: i.policyWarning }),
    ...(i.lastError && { lastError: i.lastError }),
    ...(s?.keyExpiry && { keyExpiry: s.keyExpiry }),
    ...(i.workload && { workload: i.workload }),
    ...signInNeed(i),
  };
}

/** `self.services`: each service asked for, and where the server got with it. */
function servedStatus(served: StatusInputs['served']): { services?: NonNullable<StatusResponse['self']>['services'] } {
  if (!served || served.served.length + served.unknown.length === 0) return {};
  return {
    services: [
      ...served.served.map((s) => ({
        name: s.name,
        addresses: [s.ipv4, s.ipv6],
        // No role yet: the addresses are not advertised yet (the map that names them just came).
        state: s.role ?? ('pending' as const),
        ...(s.role === 'unapproved'
          ? { reason: `not approved: the server's services.servedBy for ${s.name} names none of this node's tags` }
          : s.reason !== undefined && { reason: s.reason }),
      })),
      ...served.unknown.map((name) => ({
        name,
        addresses: [],
        state: 'unknown' as const,
        reason: `the server names no mesh service ${name} (its config's services)`,
      })),
    ],
  };
}

/**
 * A person's node must be signed in again before its key expires: say so from the last fifth of
 * the key's lifetime (at most a day ahead). Workload nodes renew themselves, so never for them.
 */
function signInNeed(i: StatusInputs): Pick<StatusResponse, 'signIn'> {
  const expiry = i.self?.keyExpiry ? Date.parse(i.self.keyExpiry) : undefined;
  if (expiry === undefined || i.workload) return {};
  const left = expiry - (i.now ?? Date.now());
  const at = new Date(expiry).toISOString();
  if (left <= 0)
    return {
      signIn: { state: 'expired', message: `this node's key expired at ${at}: sign in again with trellis up --login` },
    };
  const lifetime = i.signedInAt !== undefined && i.signedInAt < expiry ? expiry - i.signedInAt : DAY_MS * 5;
  if (left > Math.min(DAY_MS, lifetime / 5)) return {};
  return {
    signIn: {
      state: 'soon',
      message: `this node's key expires in ${duration(left)} (at ${at}): renew it with trellis up --login`,
    },
  };
}

function duration(ms: number): string {
  const m = Math.ceil(ms / 60_000);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
