import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { FilterRule } from '../../protocol/filter.ts';
import { DnsConfig, type FullMap, RelayConfig } from '../../protocol/map.ts';
import { Peer, SelfNode } from '../../protocol/node.ts';
import { WorkloadSpec } from '../identity/workload-spec.ts';
import { RouteProbe } from '../../protocol/route-health.ts';
import { AgentError } from './errors.ts';

/**
 * The agent's state directory: what lets a restarted agent be the same node.
 *  - `keys.json`: machine key (identity towards the server) and WireGuard key (0600);
 *  - `node.json`: server URL, join preferences, whether the node should be up, and its last
 *    known self record (addresses);
 *  - `map.json`: the last map the engine applied, so a restart restores peers and rules
 *    before (or without) reaching the server, and resumes the stream from its version.
 * Files are written whole to a temporary name and renamed, so a crash never leaves half a file.
 * The directory is 0711: others may reach the control socket inside, never list or read.
 */
export const Keys = z.object({ machinePrivateKey: z.string(), wireguardPrivateKey: z.string() });
export type Keys = z.infer<typeof Keys>;

export const NodeState = z.object({
  serverUrl: z.string(),
  /** Every replica of the server, when it has several (the first is `serverUrl`). */
  serverUrls: z.array(z.string()).min(1).optional(),
  hostname: z.string(),
  advertiseRoutes: z.array(z.string()).default([]),
  advertiseTags: z.array(z.string()).default([]),
  /** Router settings (`trellis up --snat-subnet-routes`, `--gateway-for`); absent: SNAT on, no gateway. */
  snatSubnetRoutes: z.boolean().optional(),
  gatewayFor: z.array(z.string()).optional(),
  /** `trellis up --accept-routes` (absent: off) and the prefixes routed despite a refusal (`--accept-routes-force`). */
  acceptRoutes: z.boolean().optional(),
  acceptRoutesForce: z.array(z.string()).optional(),
  /** `--route-probe`: a health probe per advertised route; `--route-priority`: this router's rank in elections. */
  routeProbes: z.array(z.object({ prefix: z.string(), probe: RouteProbe })).optional(),
  routePriority: z.number().int().optional(),
  /** `--serve`: the mesh services this node is a replica of (client/serve/), with their health port. */
  serve: z.array(z.object({ name: z.string(), probePort: z.number().int().optional() })).optional(),
  /** false after `trellis down`: a restarted agent stays down until `trellis up`. */
  wantRunning: z.boolean(),
  self: SelfNode.optional(),
  /** A workload node: where its token comes from, so a restarted agent goes on renewing. */
  workload: WorkloadSpec.optional(),
  /** When the node last registered with a credential (ms): with keyExpiry, its key's lifetime. */
  signedInAt: z.number().optional(),
  /** The exit node selected (`trellis up --exit-node`): a name, a mesh address or `auto`. */
  exitNode: z.string().optional(),
  /** With the exit node: the machine's own LAN stays reachable outside the tunnel. */
  exitNodeAllowLanAccess: z.boolean().optional(),
});
export type NodeState = z.infer<typeof NodeState>;

export const SavedMap = z.object({
  version: z.number().int(),
  self: SelfNode,
  peers: z.array(Peer),
  packetFilter: z.array(FilterRule),
  /** The server's relay, so a restarted agent keeps its server tunnel and relayed peers. */
  relay: RelayConfig.optional(),
  /** The mesh's ranges, when the server names them (protocol/map.ts FullMap.meshRanges). */
  meshRanges: z.array(z.string()).optional(),
  /** The mesh's DNS domain, so a restarted agent answers for the names at once. */
  dns: DnsConfig.optional(),
  /**
   * The server's warning as of this map (its starter policy). A resumed stream sends only what
   * changed since, so a restarted agent that dropped it would never show it again.
   */
  policyWarning: z.string().optional(),
  /** The server's protocol version as of this map: a resumed stream sends no full map to name it again. */
  protocolVersion: z.number().int().positive().optional(),
  /** The change-log position of this map: another replica may resume the stream from it (protocol 15). */
  changeSeq: z.number().int().nonnegative().optional(),
});
export type SavedMap = z.infer<typeof SavedMap>;

/** A saved map as the stream's MapState takes it. */
export function asFullMap(saved: SavedMap): FullMap {
  const { relay, dns, ...rest } = saved;
  return {
    type: 'full',
    ...rest,
    dns: dns ?? { domain: '', nameservers: [] },
    relay: relay ?? { udpPort: 0, wsPath: '' },
  };
}

export class StateStore {
  constructor(readonly dir: string) {}

  /** Creates the directory if needed and tightens its mode. */
  init(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o711 });
    chmodSync(this.dir, 0o711);
  }

  readKeys(): Keys | undefined {
    return this.read('keys.json', Keys);
  }

  writeKeys(keys: Keys): void {
    this.write('keys.json', keys);
  }

  readNode(): NodeState | undefined {
    return this.read('node.json', NodeState);
  }

  writeNode(node: NodeState): void {
    this.write('node.json', node);
  }

  readMap(): SavedMap | undefined {
    return this.read('map.json', SavedMap);
  }

  writeMap(map: SavedMap): void {
    this.write('map.json', map);
  }

  /** Forgets the node (keys stay unless `keys` is set): a later `up` joins afresh. */
  forget(options: { keys?: boolean } = {}): void {
    for (const f of ['node.json', 'map.json', ...(options.keys ? ['keys.json'] : [])])
      rmSync(join(this.dir, f), { force: true });
  }

  private read<T>(name: string, schema: z.ZodType<T>): T | undefined {
    const path = join(this.dir, name);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new AgentError('agent.state_unreadable', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new AgentError('agent.state_unreadable', `${path} is not JSON; move it away to start afresh`, {
        cause: err,
      });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new AgentError('agent.state_unreadable', `${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    return parsed.data;
  }

  private write(name: string, value: unknown): void {
    const path = join(this.dir, name);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600); // the umask may have narrowed it further, never widened it; be exact
    renameSync(tmp, path);
  }
}
