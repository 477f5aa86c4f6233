import { randomUUID } from 'node:crypto';
import { autoApprovedRoutes, mayOwnTag } from '../../policy/index.ts';
import { PROTOCOL_VERSION, SPOKEN_PROTOCOL_VERSIONS, speaksProtocol } from '../../protocol/version.ts';
import type { RegisterRequest, UpdateSelfRequest } from '../../protocol/join.ts';
import { forbidden, invalid, notFound } from '../errors.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Authenticator, ProvenIdentity } from '../identity/identity.ts';
import type { NetmapEngine } from '../netmap/engine.ts';
import type { PolicyService } from '../policies/policy-service.ts';
import type { NodeRecord } from '../store/records.ts';
import { StoreConflict, type NodePatch, type Store } from '../store/store.ts';
import type { AddressPlan } from './addresses.ts';
import { dnsLabel, isDnsLabel } from './names.ts';
import { checkEndpoints } from './endpoints.ts';
import { parseRoutes } from './routes.ts';
import { LATEST_TIME_MS, isTimeMs, isoTime } from '../../protocol/time.ts';

interface NodeServiceDeps {
  store: Store;
  engine: NetmapEngine;
  policies: PolicyService;
  addresses: AddressPlan;
  authenticators: readonly Authenticator[];
  now: () => number;
  audit?: AuditLog;
  /** Service addresses among `advertised` that a node with `tags` may serve: approved at once (server/services/). */
  serviceRoutes?: (tags: readonly string[], advertised: readonly string[]) => string[];
}

/**
 * Everything that changes a node: registration, key rotation, self-updates from the agent and
 * the administrator's actions. Each writes the database first and then tells the map engine,
 * so nothing is announced that a crash could lose.
 */
export class NodeService {
  constructor(private readonly deps: NodeServiceDeps) {}

  /**
   * `existing` is the node already registered with the proven machine key, if any; `source` the
   * caller's address, for the audit trail (authentication and registration, success or not).
   */
  async register(
    request: RegisterRequest,
    provenMachineKey: string,
    existing?: NodeRecord,
    source?: string,
  ): Promise<NodeRecord> {
    if (!speaksProtocol(request.protocolVersion)) {
      const upgrade = request.protocolVersion > PROTOCOL_VERSION ? 'the server' : 'the agent';
      throw invalid(
        'protocol.unsupported_version',
        `this agent speaks protocol version ${request.protocolVersion}; this server speaks versions ${SPOKEN_PROTOCOL_VERSIONS}: upgrade ${upgrade}`,
        'body.protocolVersion',
      );
    }
    if (request.machineKey !== provenMachineKey) {
      throw forbidden('proof.key_mismatch', 'the request is signed by another machine key than the one it registers');
    }
    if (request.wireguardKey === request.machineKey) {
      throw invalid('node.keys_same', 'the WireGuard key and the machine key must differ', 'body.wireguardKey');
    }
    const authenticator = this.deps.authenticators.find((a) => a.type === request.credential.type);
    if (!authenticator)
      throw invalid(
        'credential.unsupported',
        `credential type "${request.credential.type}" is not enabled on this server`,
        'body.credential.type',
      );
    const audit = this.deps.audit;
    const attempt = { method: request.credential.type, nodeId: existing?.id, source };
    let identity: ProvenIdentity;
    try {
      identity = await authenticator.authenticate(request.credential as never, {
        machineKey: provenMachineKey,
        sourceIp: source,
      });
      // Checked before anything is written: a time that cannot be stored must refuse the join.
      if (identity.expiresAt !== undefined && !isTimeMs(identity.expiresAt)) {
        throw invalid(
          'credential.bad_expiry',
          `the credential expires at a time that cannot be stored (after ${isoTime(LATEST_TIME_MS)} or before 1970)`,
          'body.credential',
        );
      }
    } catch (err) {
      await audit?.failure({ kind: 'auth', ...attempt }, err);
      throw err;
    }
    const who = identity.userId ? (await this.deps.store.users.get(identity.userId))?.email : undefined;
    const proven = { ...attempt, method: identity.method, actor: who ?? identity.subject, identity: identity.subject };
    await audit?.record({
      kind: 'auth',
      outcome: 'success',
      ...proven,
      message: `${identity.method} credential accepted for ${proven.actor ?? 'an unnamed holder'}`,
    });
    try {
      const record = await this.writeNode(request, identity, existing);
      await audit?.record({
        kind: 'node.register',
        outcome: 'success',
        ...proven,
        nodeId: record.id,
        message: `${existing ? 'signed in again' : 'registered'}: node ${record.name}${record.tags.length ? ` with ${record.tags.join(', ')}` : ''}${record.expiresAt ? `, key expires ${isoTime(record.expiresAt)}` : ''}`,
      });
      return record;
    } catch (err) {
      await audit?.failure({ kind: 'node.register', ...proven }, err);
      throw err;
    }
  }

  private async writeNode(
    request: RegisterRequest,
    identity: ProvenIdentity,
    existing?: NodeRecord,
  ): Promise<NodeRecord> {
    const { store, now } = this.deps;
    const owner = identity.userId ? await store.users.get(identity.userId) : undefined;
    const tags = await this.resolveTags(identity.tags, request.advertiseTags ?? [], owner?.email, owner?.groups);
    const advertisedRoutes = parseRoutes(request.advertiseRoutes ?? [], 'body.advertiseRoutes');

    // A single-use key is used up by a sign-in again as much as by a first join.
    const consumption = identity.consumePreAuthKeyId
      ? { consumePreAuthKey: { id: identity.consumePreAuthKeyId, now: now() } }
      : undefined;
    if (existing) {
      // The same machine signing in again: keep its identity and addresses.
      const updated = await this.patch(
        existing.id,
        {
          wireguardKey: request.wireguardKey,
          // null clears: signing in again renews an expired node, and a tag credential
          // leaves no previous owner behind.
          userId: identity.userId ?? null,
          tags,
          advertisedRoutes,
          ...(request.routePriority !== undefined && { routePriority: request.routePriority }),
          expiresAt: identity.expiresAt ?? null,
          identity: identity.proof ?? null,
          os: request.os,
        },
        consumption,
      );
      return updated;
    }

    const policy = this.deps.policies.current().policy;
    const draft = {
      id: `n-${randomUUID()}`,
      name: dnsLabel(request.hostname),
      machineKey: request.machineKey,
      wireguardKey: request.wireguardKey,
      userId: identity.userId,
      tags,
      endpoints: [],
      advertisedRoutes,
      approvedRoutes: [] as string[],
      routePriority: request.routePriority,
      ephemeral: identity.ephemeral,
      os: request.os,
      expiresAt: identity.expiresAt,
      identity: identity.proof,
      createdAt: now(),
    };
    const policyView = {
      id: draft.id,
      name: draft.name,
      user: tags.length ? undefined : owner?.email,
      idpGroups: owner?.groups,
      tags,
      ipv4: '',
      ipv6: '',
      routableIPs: advertisedRoutes,
      approvedRoutes: [],
    };
    draft.approvedRoutes = [
      ...new Set([
        ...autoApprovedRoutes(policy, policyView, advertisedRoutes),
        ...(this.deps.serviceRoutes?.(tags, advertisedRoutes) ?? []),
      ]),
    ];
    const record = await store.nodes.create(draft, {
      addressFor: (i) => this.deps.addresses.addressFor(i),
      consumePreAuthKey: consumption?.consumePreAuthKey,
    });
    this.deps.engine.upsertNode(record);
    return record;
  }

  async rotateKey(node: NodeRecord, wireguardKey: string): Promise<NodeRecord> {
    if (wireguardKey === node.machineKey)
      throw invalid('node.keys_same', 'the WireGuard key and the machine key must differ', 'body.wireguardKey');
    return this.patch(node.id, { wireguardKey });
  }

  async updateSelf(node: NodeRecord, update: UpdateSelfRequest): Promise<NodeRecord> {
    const patch: NodePatch = {};
    if (update.hostname !== undefined) {
      const base = dnsLabel(update.hostname);
      // Already named after this host (web, or web-2 because web was taken): keep the name.
      if (node.name !== base && !new RegExp(`^${base}-\\d+$`).test(node.name)) patch.name = base;
    }
    if (update.routePriority !== undefined) patch.routePriority = update.routePriority;
    if (update.endpoints !== undefined) patch.endpoints = checkEndpoints(update.endpoints, 'body.endpoints');
    if (update.advertiseRoutes !== undefined) {
      patch.advertisedRoutes = parseRoutes(update.advertiseRoutes, 'body.advertiseRoutes');
      const policy = this.deps.policies.current().policy;
      const live = this.deps.engine.node(node.id);
      const auto = live ? autoApprovedRoutes(policy, live.policyNode(), patch.advertisedRoutes) : [];
      const services = this.deps.serviceRoutes?.(node.tags, patch.advertisedRoutes) ?? [];
      patch.approvedRoutes = [
        ...new Set([...node.approvedRoutes.filter((r) => patch.advertisedRoutes!.includes(r)), ...auto, ...services]),
      ];
    }
    return patch.name === undefined ? this.patch(node.id, patch) : this.patchWithFreeName(node.id, patch.name, patch);
  }

  /** A new hostname, made unique the way registration does it: web, web-2, web-3, ... */
  private async patchWithFreeName(id: string, base: string, patch: NodePatch): Promise<NodeRecord> {
    for (let i = 1; ; i++) {
      try {
        return await this.patch(id, { ...patch, name: i === 1 ? base : `${base}-${i}` });
      } catch (err) {
        if (!(err instanceof StoreConflict && err.code === 'node.name_taken') || i >= 1000) throw err;
      }
    }
  }

  /** Endpoints reported on the map stream; unchanged lists cost nothing. */
  async reportEndpoints(nodeId: string, endpoints: string[]): Promise<void> {
    const current = this.deps.engine.node(nodeId)?.record;
    const checked = checkEndpoints(endpoints, 'endpoints');
    if (!current || JSON.stringify(current.endpoints) === JSON.stringify(checked)) return;
    await this.patch(nodeId, { endpoints: checked });
  }

  // ---- stream lifecycle ----
  async disconnected(nodeId: string): Promise<void> {
    const record = await this.deps.store.nodes.update(nodeId, { lastSeen: this.deps.now() });
    if (!record) return;
    this.deps.engine.upsertNode(record);
  }

  // ---- administration ----
  async list(): Promise<NodeRecord[]> {
    return this.deps.store.nodes.list();
  }

  async get(id: string): Promise<NodeRecord> {
    const node = await this.deps.store.nodes.get(id);
    if (!node) throw notFound('node.not_found', `no node with id ${id}`);
    return node;
  }

  async remove(id: string, reason: 'deleted' | 'ephemeral' = 'deleted'): Promise<void> {
    if (!(await this.deps.store.nodes.delete(id))) throw notFound('node.not_found', `no node with id ${id}`);
    this.deps.engine.removeNode(id, reason);
  }

  async expire(id: string, actor = 'admin'): Promise<NodeRecord> {
    const record = await this.patch(id, { expiresAt: this.deps.now() });
    await this.deps.audit?.record({
      kind: 'node.expire',
      outcome: 'success',
      actor,
      nodeId: id,
      message: `node ${record.name}: key expired by ${actor}; it must sign in again`,
    });
    return record;
  }

  /** Expires every node of a user at once (e.g. someone left); each must sign in again. */
  async expireUserNodes(userId: string, actor = 'admin'): Promise<NodeRecord[]> {
    const owned = (await this.deps.store.nodes.list()).filter((n) => n.userId === userId);
    const expired: NodeRecord[] = [];
    for (const n of owned) expired.push(await this.expire(n.id, actor));
    return expired;
  }

  async rename(id: string, name: string): Promise<NodeRecord> {
    if (!isDnsLabel(name))
      throw invalid('node.bad_name', `"${name}" is not a DNS label (a-z, 0-9 and -, at most 63)`, 'body.name');
    return this.patch(id, { name });
  }

  /** Sets a node's tags (administrators may apply any tag the policy defines). */
  async setTags(id: string, tags: string[]): Promise<NodeRecord> {
    const policy = this.deps.policies.current().policy;
    for (const tag of tags) {
      if (!policy.tagOwners.has(tag)) {
        throw invalid('tag.undefined', `${tag} is not defined in the policy's tagOwners`, 'body.tags');
      }
    }
    return this.patch(id, { tags: [...new Set(tags)].sort() });
  }

  async approveRoutes(id: string, routes: string[]): Promise<NodeRecord> {
    const node = await this.get(id);
    const approved = parseRoutes(routes, 'body.routes');
    const notAdvertised = approved.filter((r) => !node.advertisedRoutes.includes(r));
    if (notAdvertised.length) {
      throw invalid(
        'route.not_advertised',
        `node ${node.name} does not advertise ${notAdvertised.join(', ')}`,
        'body.routes',
      );
    }
    return this.patch(id, { approvedRoutes: approved });
  }

  private async patch(
    id: string,
    patch: NodePatch,
    options?: { consumePreAuthKey?: { id: string; now: number } },
  ): Promise<NodeRecord> {
    const record = await this.deps.store.nodes.update(id, patch, options);
    if (!record) throw notFound('node.not_found', `no node with id ${id}`);
    this.deps.engine.upsertNode(record);
    return record;
  }

  private async resolveTags(
    granted: string[],
    advertised: string[],
    email?: string,
    idpGroups?: string[],
  ): Promise<string[]> {
    const policy = this.deps.policies.current().policy;
    for (const tag of advertised) {
      if (granted.includes(tag)) continue;
      if (!email || !mayOwnTag(policy, { email, idpGroups }, tag)) {
        throw forbidden(
          'tag.not_owner',
          `${email ?? 'this credential'} may not apply ${tag}: the policy's tagOwners do not allow it`,
        );
      }
    }
    return [...new Set([...granted, ...advertised])].sort();
  }
}
