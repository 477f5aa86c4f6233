import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { KeyService } from './admin/keys.ts';
import { AuditLog } from './audit/audit-log.ts';
import { UserService } from './admin/user-service.ts';
import type { ServerConfig } from './config/schema.ts';
import { CallerAuth } from './http/caller-auth.ts';
import { createHttpApp } from './http/app.ts';
import { RateLimiter } from './http/rate-limit.ts';
import { UpgradeRouter } from './http/upgrade-router.ts';
import { adminRoutes } from './http/routes/admin.ts';
import { identityAdminRoutes } from './http/routes/identity-admin.ts';
import { loginPages, loginRoutes } from './http/routes/login.ts';
import { machineRoutes } from './http/routes/machine.ts';
import { relayRoutes } from './http/routes/relay.ts';
import { MachineProofVerifier } from './identity/machine-proof.ts';
import { setUpIdentity } from './identity/identity-setup.ts';
import { NetmapEngine } from './netmap/engine.ts';
import { MAP_PATH, attachMapStream } from './netmap/stream-server.ts';
import { addressPlan } from './nodes/addresses.ts';
import { NodeService } from './nodes/node-service.ts';
import { createLogger } from './observability/logger.ts';
import { ServerMetrics } from './observability/metrics.ts';
import { PolicyService } from './policies/policy-service.ts';
import { PathBroker } from './paths/path-broker.ts';
import { openRelay } from './relay/relay-setup.ts';
import { StunResponder } from './relay/stun.ts';
import type { UdpPort } from './relay/udp-port.ts';
import { attachWsRelay } from './relay/ws-relay.ts';
import { createSqliteStore } from './store/sqlite/index.ts';
import type { Store } from './store/store.ts';

/** Where the relay is served over a WebSocket (announced in every map as `relay.wsPath`). */
const RELAY_WS_PATH = '/api/v1/relay';

export interface RunningServer {
  url: string;
  store: Store;
  engine: NetmapEngine;
  keys: KeyService;
  users: UserService;
  logger: Logger;
  /** The reflector and relay UDP port; absent when `relay.udpPort` is -1. */
  relay?: UdpPort;
  /** The STUN-only UDP port; absent when `relay.stunPort` is -1 or the relay is off. */
  stunPort?: number;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  now?: () => number;
  /** Use this store instead of SQLite in the data directory (tests). */
  store?: Store;
}

/**
 * The composition root: builds every part from the config, rebuilds the in-memory network
 * from the database, and starts listening. Nothing else wires parts together.
 */
export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const now = options.now ?? Date.now;
  const logger = options.logger ?? createLogger(config.log.level);
  const addresses = addressPlan(config.network.ipv4Prefix, config.network.ipv6Prefix);
  const store = options.store ?? createSqliteStore(join(config.dataDir, 'trellis.db'));

  const policies = new PolicyService(store, now);
  const active = await policies.load();
  const relay = await openRelay({
    dataDir: config.dataDir,
    host: config.listen.host,
    udpPort: config.relay.udpPort,
    stunPort: config.relay.stunPort,
    publicUrl: config.publicUrl,
  });
  // eslint-disable-next-line prefer-const -- assigned below, once the engine it observes exists
  let metrics: ServerMetrics | undefined;
  const relaySettings = { udpPort: 0, wsPath: RELAY_WS_PATH, ...relay?.settings };
  const engine = new NetmapEngine(active.policy, active.record.starter, {
    mesh: { include: [config.network.ipv4Prefix, config.network.ipv6Prefix] },
    dns: { domain: config.network.domain, nameservers: config.network.nameservers },
    relay: relaySettings,
    now,
    onSent: (kind, bytes) => {
      metrics?.mapSends.inc({ kind });
      metrics?.mapBytes.inc({ kind }, bytes);
    },
  });
  metrics = new ServerMetrics({
    connected: () => engine.connectedCount,
    nodes: () => engine.nodeCount,
    queues: () => engine.queueDepths(),
    ...(relay && { relay: () => ({ ...relay.port.stats, stunAnswers: stun.counts.answered }) }),
  });
  policies.onChange((p) => engine.setPolicy(p.policy, p.record.starter));

  const users = new UserService(store, engine, now);
  engine.load(await users.load(), await store.nodes.list());
  // One responder for both ports: a forged source gets its limit once, not once per port.
  const stun = new StunResponder(now);
  relay?.port.start({
    directory: {
      nodeForKey: (k) => engine.nodeIdForWireguardKey(k),
      wireguardKey: (id) => engine.node(id)?.record.wireguardKey,
      visiblePeers: (id) => engine.visiblePeers(id),
    },
    observed: (id, endpoint) => engine.setObservedEndpoint(id, endpoint),
    answerOther: (packet, from) => stun.answer(packet, from),
    now,
    logger,
  });
  relay?.stun?.start(stun, logger);

  const keys = new KeyService(store, now);
  const audit = new AuditLog(store, logger, now);
  // Known once listening (port 0 picks one); the OpenAPI document and sign-in links name it.
  let url = config.publicUrl ?? '';
  const identity = setUpIdentity(config, {
    store,
    users,
    audit,
    now,
    logger,
    policy: () => policies.current().policy,
    publicUrl: () => url,
  });
  const nodes = new NodeService({
    store,
    engine,
    policies,
    addresses,
    now,
    audit,
    authenticators: identity.authenticators,
    ephemeralGraceMs: config.nodes.ephemeralGraceSeconds * 1000,
  });
  nodes.scheduleOfflineEphemeralRemovals(await store.nodes.list());
  const auth = new CallerAuth(store, new MachineProofVerifier(), now);
  const authLimiter = new RateLimiter(config.limits.authPerMinute);

  const app = createHttpApp({
    routes: [
      ...machineRoutes(nodes, engine, metrics),
      ...relayRoutes(() => relaySettings),
      ...(identity.logins ? loginRoutes(identity.logins) : []),
      ...identityAdminRoutes({ audit, store, nodes, users, engine }),
      ...adminRoutes({ store, nodes, users, keys, policies, engine, policyWarning: () => engine.policyWarning() }),
    ],
    auth,
    authLimiter,
    now,
    logger,
    metrics,
    audit,
    pages: identity.logins
      ? [
          loginPages(identity.logins, {
            secureCookies: () => url.startsWith('https:'),
            limit: (ip) => authLimiter.take(ip, now()),
          }),
        ]
      : [],
    maxBodyBytes: config.limits.maxBodyBytes,
    publicUrl: () => url,
    health: () => ({
      ok: true,
      detail: {
        nodes: engine.nodeCount,
        connected: engine.connectedCount,
        policyVersion: policies.current().record.version,
      },
    }),
  });

  const server = await listen(app.fetch, config.listen.host, config.listen.port);
  const paths =
    relay &&
    new PathBroker({
      visiblePeers: (id) => engine.visiblePeers(id),
      candidatesOf: (id) => {
        const live = engine.node(id);
        return live?.online ? { endpoints: live.record.endpoints, observed: live.observedEndpoint } : undefined;
      },
      send: (id, text) => engine.sendTo(id, text),
      now,
    });
  const upgrades = new UpgradeRouter(server);
  const stream = attachMapStream(upgrades, {
    auth,
    engine,
    nodes,
    logger,
    now,
    limiter: authLimiter,
    ...(paths && { paths }),
    heartbeatMs: config.nodes.heartbeatSeconds * 1000,
  });
  const wsRelay =
    relay && attachWsRelay(upgrades, RELAY_WS_PATH, { port: relay.port, auth, limiter: authLimiter, logger, now });
  const expiry = setInterval(() => {
    for (const id of engine.expireDue()) {
      void audit.record({
        kind: 'node.expire',
        outcome: 'success',
        actor: 'system',
        nodeId: id,
        message: 'node key expired; removed from maps until it signs in again',
      });
    }
  }, 5_000);
  expiry.unref();
  const pruneAudit = () => void audit.prune(config.audit.retentionDays);
  pruneAudit();
  const auditPruner = setInterval(pruneAudit, 3_600_000);
  auditPruner.unref();

  const port = (server.address() as AddressInfo).port;
  url =
    config.publicUrl ??
    `http://${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${port}`;
  logger.info(
    { url, mapPath: MAP_PATH, nodes: engine.nodeCount, policyVersion: active.record.version },
    'trellis server listening',
  );
  if (active.record.starter) logger.warn(engine.policyWarning());

  return {
    url,
    store,
    engine,
    keys,
    users,
    logger,
    relay: relay?.port,
    stunPort: relay?.stun?.port,
    async close() {
      clearInterval(expiry);
      clearInterval(auditPruner);
      await wsRelay?.close();
      await relay?.port.close();
      await relay?.stun?.close();
      nodes.stop();
      identity.logins?.close();
      await stream.close();
      engine.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
      await store.close();
    },
  };
}

function listen(
  fetch: (req: Request) => Response | Promise<Response>,
  hostname: string,
  port: number,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server as Server)) as Server;
    server.once('error', reject);
  });
}
