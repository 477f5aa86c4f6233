import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { KeyService } from './admin/keys.ts';
import { AuditLog } from './audit/audit-log.ts';
import { AuditRetention } from './audit/audit-retention.ts';
import { UserService } from './admin/user-service.ts';
import type { ServerConfig } from './config/schema.ts';
import { CallerAuth } from './http/caller-auth.ts';
import { createHttpApp } from './http/app.ts';
import { HttpListener } from './http/listener.ts';
import { RateLimiter } from './http/rate-limit.ts';
import { UpgradeRouter } from './http/upgrade-router.ts';
import { adminRoutes } from './http/routes/admin.ts';
import { policyRoutes } from './http/routes/policy.ts';
import { makeSignInLink, mountSignInLinkPages, signInLinkRoutes } from './http/routes/console-link.ts';
import { SignInLinks } from './console/sign-in-links.ts';
import type { CreateSignInLink, SignInLinkView } from '../protocol/console.ts';
import { identityAdminRoutes } from './http/routes/identity-admin.ts';
import { routeTableRoutes } from './http/routes/routes.ts';
import { replicaRoutes } from './http/routes/replicas.ts';
import { consolePages } from './http/pages/console.ts';
import { loginPages, loginRoutes } from './http/routes/login.ts';
import { CALLBACK_PATH } from './identity/oidc/login-service.ts';
import { machineRoutes } from './http/routes/machine.ts';
import { nodeAuditRoutes } from './http/routes/node-audit.ts';
import { pkiRoutes } from './http/routes/pki.ts';
import { authorityRoutes } from './http/routes/authorities.ts';
import { relayRoutes } from './http/routes/relay.ts';
import { consoleSessionRoutes } from './http/routes/console-session.ts';
import { consoleSignInPages } from './http/routes/console-pages.ts';
import { ConsoleAuth } from './console/console-auth.ts';
import { ConsoleSessions } from './console/console-sessions.ts';
import { ConsoleSignIn } from './console/console-sign-in.ts';
import { ConsoleSessionSweeper } from './console/session-sweeper.ts';
import { LiveEvents } from './console/live-events.ts';
import { consoleEventRoutes } from './http/routes/console-events.ts';
import { isoTime } from '../protocol/time.ts';
import { MachineProofVerifier } from './identity/machine-proof.ts';
import { setUpIdentity } from './identity/identity-setup.ts';
import { IdentitySweeper } from './identity/identity-sweeper.ts';
import { NetmapEngine } from './netmap/engine.ts';
import { MAP_PATH, attachMapStream } from './netmap/stream-server.ts';
import { addressPlan } from './nodes/addresses.ts';
import { EphemeralReaper } from './nodes/ephemeral-reaper.ts';
import { KeyExpiry } from './nodes/key-expiry.ts';
import { NodeService } from './nodes/node-service.ts';
import { createLogger } from './observability/logger.ts';
import { ServerMetrics } from './observability/metrics.ts';
import { addSampledMetrics } from './observability/sampled-metrics.ts';
import { CertificateAuthority } from './pki/authority.ts';
import { CertificateService } from './pki/certificate-service.ts';
import { PolicyQuestions } from './policies/policy-questions.ts';
import { PolicyService } from './policies/policy-service.ts';
import { ServiceDirectory } from './services/service-directory.ts';
import { PathBroker } from './paths/path-broker.ts';
import { Shutdown } from './shutdown.ts';
import { openRelay, type OpenRelay } from './relay/relay-setup.ts';
import { StunResponder } from './relay/stun.ts';
import type { LinkSettings, UdpPort } from './relay/udp-port.ts';
import { replicaLink } from './relay/replica-link.ts';
import { CloseCode, PathTrial } from '../protocol/map.ts';
import { jsonText } from '../protocol/json-text.ts';
import { attachWsRelay } from './relay/ws-relay.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';
import { recordPrimaryChange } from './routes/primary-change.ts';
import { setUpReplication } from './replication/replication-setup.ts';
import { addReplicaMetrics } from './replication/replica-metrics.ts';
import type { ReplicaDirectory } from './replication/replica-directory.ts';
import type { Leadership } from './replication/leadership.ts';
import type { StoreState } from './replication/store-reachability.ts';

/** Where the relay is served over a WebSocket (announced in every map as `relay.wsPath`). */
const RELAY_WS_PATH = '/api/v1/relay';

export interface RunningServer {
  url: string;
  store: Store;
  engine: NetmapEngine;
  keys: KeyService;
  users: UserService;
  /** Registration and node changes, as the HTTP handlers call them (benchmarks seed nodes through it). */
  nodes: NodeService;
  logger: Logger;
  /** The running replicas on this store, this one among them (server/replication/). */
  replicas: ReplicaDirectory;
  /** Whether this replica runs the singleton jobs now. */
  leadership: Leadership;
  /** The reflector and relay UDP port; absent when `relay.udpPort` is -1. */
  relay?: UdpPort;
  /** The STUN-only UDP port; absent when `relay.stunPort` is -1 or the relay is off. */
  stunPort?: number;
  /** A one-time console sign-in link (what `serve` prints when no identity provider is configured). */
  signInLink(body: CreateSignInLink): Promise<SignInLinkView>;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  now?: () => number;
  /** Use this store instead of SQLite in the data directory (tests). */
  store?: Store;
  /**
   * Runs once everything is built, before the port listens: what must exist by the time anyone
   * can reach the server (`serve` issues the bootstrap admin key and writes its file here).
   */
  beforeListen?: (parts: { store: Store; keys: KeyService }) => Promise<void>;
}

/**
 * The composition root: builds every part from the config, once and in the order they depend on
 * each other, rebuilds the in-memory network from the database, and starts listening. Nothing
 * else wires parts together. A start that fails stops what it had started.
 */
export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const shutdown = new Shutdown();
  try {
    return await compose(config, options, shutdown);
  } catch (err) {
    await shutdown.run().catch(() => {}); // the failed start is what to report
    throw err;
  }
}

async function compose(config: ServerConfig, options: StartOptions, shutdown: Shutdown): Promise<RunningServer> {
  const now = options.now ?? Date.now;
  const logger = options.logger ?? createLogger(config.log.level);
  const store = options.store ?? (await openStore(config));
  shutdown.add('store', () => store.close());

  // The UDP ports open first: every map names the real ports and the server's WireGuard key.
  const relay = await openRelay({
    dataDir: config.dataDir,
    keys: store.serverKeys,
    now: now(),
    host: config.listen.host,
    udpPort: config.relay.udpPort,
    stunPort: config.relay.stunPort,
    publicUrl: config.publicUrl,
    ...(config.relay.publicHost && { publicHost: config.relay.publicHost }),
  });
  if (relay) shutdown.add('relay port', () => relay.port.close());
  if (relay?.stun) shutdown.add('STUN port', () => relay.stun?.close());
  const relaySettings = { udpPort: 0, wsPath: RELAY_WS_PATH, ...relay?.settings };

  // Read before the engine loads: whatever commits meanwhile, the change follower applies again.
  const fromSeq = await store.changes.head();
  // After fromSeq, so a rotation another replica commits meanwhile reaches it through the log.
  const authority = await CertificateAuthority.open({
    store,
    domain: config.network.domain,
    authorityDays: config.pki.authorityDays,
    certificateSeconds: config.pki.certificateSeconds,
    logger,
    now,
  });
  shutdown.add('CA rotation timer', () => authority.close());

  const services = new ServiceDirectory(config.services, config.network.ipv4Prefix, config.network.ipv6Prefix);
  const policies = new PolicyService(store, now);
  const active = await policies.load();
  const metrics = new ServerMetrics();
  const engine = new NetmapEngine(active.policy, active.record.starter, {
    mesh: { include: [config.network.ipv4Prefix, config.network.ipv6Prefix] },
    dns: { domain: config.network.domain, nameservers: config.network.nameservers, services: services.records() },
    relay: relaySettings,
    now,
    onSent: (kind, bytes) => metrics.countMapSend(kind, bytes),
    preemptRoutes: config.routes.preempt,
    preemptHoldDownMs: config.routes.preemptHoldDownMs,
    changeSeq: fromSeq,
  });
  shutdown.add('pending map sends', () => engine.stop());
  policies.onChange((p) => {
    engine.setPolicy(p.policy, p.record.starter);
    // A version this replica wrote: its own agents' deltas may name its seq at once.
    if (p.changeSeq !== undefined) engine.noteOwnWrite('policy', String(p.record.version), p.changeSeq);
  });
  // Preview, explain and diff: the policy library over the engine's live nodes.
  const policyQuestions = new PolicyQuestions(policies, {
    under: (policy) => engine.policyUnder(policy),
    primaries: () => engine.primaries(),
  });
  const users = new UserService(store, engine, now);
  engine.load(await users.load(), await store.nodes.list());
  const http = new HttpListener({ proxyProtocol: config.listen.proxyProtocol, logger });
  shutdown.add('HTTP port', () => http.close());
  // Changes other replicas commit reach this engine from here on (server/replication/).
  const replication = setUpReplication({
    config,
    store,
    engine,
    users,
    policies,
    authorities: authority,
    fromSeq,
    listenUrl: () => http.url,
    shutdown,
    now,
    logger,
  });

  // One STUN responder for both ports: a forged source gets its limit once, not once per port.
  const stun = new StunResponder(now);
  // Several replicas: nodes whose stream another replica holds are reached over the relay link.
  const replicas: { directory?: ReplicaDirectory } = {};
  const link =
    config.relay.linkSecret === undefined
      ? undefined
      : replicaLink(config.relay.linkSecret, () => replicas.directory, trialFromLink(engine, logger));
  if (relay) startRelay(relay, engine, stun, now, logger, link);
  addReplicaMetrics(metrics.registry, replication);
  addSampledMetrics(metrics, {
    connected: () => engine.connectedCount,
    nodes: () => engine.nodeCount,
    queues: () => engine.queueDepths(),
    routes: () => engine.routes.view(),
    ...(relay && { relay: () => ({ ...relay.port.stats, stunAnswers: stun.counts.answered }) }),
  });

  // The listen address is known once listening (port 0 picks one); nothing reads it before.
  const publicUrl = () => config.publicUrl ?? http.url;
  const keys = new KeyService(store, now);
  const audit = new AuditLog(store, logger, now);
  // Every replica counts what it serves; the one that elects (the leader) audits it, once.
  engine.onPrimaryChange((change) =>
    recordPrimaryChange(change, {
      audit: store.driver === 'sqlite' || replication.leadership.isLeader ? audit : undefined,
      metrics,
    }),
  );
  const live = liveEventsOf(engine, policies, now);
  const identity = setUpIdentity(config, {
    store,
    users,
    audit,
    now,
    logger,
    policy: () => policies.current().policy,
    publicUrl,
  });
  if (identity.logins) shutdown.add('sign-ins', () => identity.logins?.close());
  const nodes = new NodeService({
    store,
    engine,
    policies,
    addresses: addressPlan(config.network.ipv4Prefix, config.network.ipv6Prefix),
    now,
    audit,
    authenticators: identity.authenticators,
    serviceRoutes: (tags, advertised) => services.approvedFor(tags, advertised),
  });
  const ephemeralReaper = new EphemeralReaper(config.nodes.ephemeralGraceSeconds * 1000, engine, (id) =>
    nodes.remove(id, 'ephemeral'),
  );

  const certificates = new CertificateService({
    authority,
    audit,
    domain: config.network.domain,
    certificateSeconds: config.pki.certificateSeconds,
    issuesPerHour: config.pki.issuesPerHour,
    servedBy: (node) => services.servedBy(node.tags),
    isService: (label) => services.services.some((s) => s.name === label),
    now,
  });

  const auth = new CallerAuth(store, new MachineProofVerifier(undefined, store.proofNonces), now);
  const authLimiter = new RateLimiter(config.limits.authPerMinute);

  // The admin console: people sign in through the same providers and get a session in the store.
  const consoleSessions = new ConsoleSessions(
    store,
    { idleMs: config.console.sessionIdleSeconds * 1000, maxMs: config.console.sessionMaxSeconds * 1000 },
    now,
  );
  const consoleAuth = new ConsoleAuth(consoleSessions, config.console.roles, {
    publicUrl,
    trustProxy: config.listen.trustProxy,
  });
  const signInPages = identity.logins
    ? consoleSignInPages(
        new ConsoleSignIn({
          pending: store.consoleSignIns,
          providers: identity.providers,
          sessions: consoleSessions,
          users,
          audit,
          now,
          redirectUri: () => `${publicUrl()}${CALLBACK_PATH}`,
          timeoutMs: config.oidc.loginTimeoutSeconds * 1000,
        }),
        {
          secure: (c) => consoleAuth.secure(c),
          limit: (ip) => authLimiter.take(ip, now()),
          maxSessionMs: consoleSessions.maxMs,
          timeoutMs: config.oidc.loginTimeoutSeconds * 1000,
        },
      )
    : undefined;
  // One-time sign-in links: the console without an identity provider (the quick start).
  const signInLinks = { links: new SignInLinks(store, consoleSessions, now), users, publicUrl };
  const sessionSweeper = new ConsoleSessionSweeper(consoleSessions, logger);
  const app = createHttpApp({
    routes: [
      ...machineRoutes(nodes, engine, metrics),
      ...nodeAuditRoutes(audit),
      ...pkiRoutes(certificates),
      ...authorityRoutes(authority, now),
      ...relayRoutes(() => relaySettings),
      ...(identity.logins ? loginRoutes(identity.logins) : []),
      ...identityAdminRoutes({ audit, store, nodes, users, engine }),
      ...consoleEventRoutes({ live, sessions: consoleSessions }),
      ...signInLinkRoutes(signInLinks),
      ...consoleSessionRoutes({
        sessions: consoleSessions,
        audit,
        providers: config.oidc.providers.map((p) => p.name),
      }),
      ...adminRoutes({ store, nodes, users, keys, engine }),
      ...policyRoutes({ policies, questions: policyQuestions, engine }),
      ...routeTableRoutes(engine.routes),
      ...replicaRoutes(replication),
    ],
    auth,
    authLimiter,
    now,
    logger,
    metrics,
    audit,
    console: consoleAuth,
    // The console's sign-in before its catch-all page route (/console/*).
    pages: [
      ...(identity.logins
        ? [
            loginPages(identity.logins, {
              secureCookies: () => publicUrl().startsWith('https:'),
              limit: (ip) => authLimiter.take(ip, now()),
              console: signInPages?.callback,
            }),
          ]
        : []),
      ...(signInPages ? [(app: Hono) => signInPages.mount(app)] : []),
      (app: Hono) =>
        mountSignInLinkPages(app, {
          links: signInLinks.links,
          audit,
          secure: (c) => consoleAuth.secure(c),
          limit: (ip) => authLimiter.take(ip, now()),
          maxSessionMs: consoleSessions.maxMs,
        }),
      consolePages(),
    ],
    maxBodyBytes: config.limits.maxBodyBytes,
    publicUrl,
    writeRefusal: () => replication.reachability.refusal(),
    health: () => ({
      ok: replication.reachability.reachable,
      detail: {
        store: storeDetail(replication.reachability.state),
        nodes: engine.nodeCount,
        connected: engine.connectedCount,
        policyVersion: policies.current().record.version,
      },
    }),
  });

  const upgrades = new UpgradeRouter(http.server);
  const stream = attachMapStream(upgrades, {
    auth,
    engine,
    nodes,
    logger,
    now,
    limiter: authLimiter,
    ...(relay && { paths: pathBroker(engine, now, relay.port) }),
    heartbeatMs: config.nodes.heartbeatSeconds * 1000,
    routerHeartbeatMs: config.routes.heartbeatMs,
    refusal: () => replication.reachability.refusal(),
  });
  shutdown.add('map streams', () => stream.close());
  // Cut off from the database, its streams go: the agents move to a replica that has it.
  replication.reachability.onChange((s) => {
    if (!s.reachable) stream.closeAll(CloseCode.storeUnavailable, 'store.unavailable');
  });
  if (relay) {
    const wsRelay = attachWsRelay(upgrades, RELAY_WS_PATH, {
      port: relay.port,
      auth,
      limiter: authLimiter,
      logger,
      now,
    });
    shutdown.add('WebSocket relay', () => wsRelay.close());
  }

  replicas.directory = replication.directory;
  // What the other replicas' relays send this one's nodes' datagrams to: the address agents use.
  if (link && relay?.settings.endpoint) replication.directory.setRelayAddress(relay.settings.endpoint);
  // Every replica takes expired nodes out of its own maps; the leader alone audits it.
  const keyExpiry = new KeyExpiry(engine, audit, () => replication.leadership.isLeader);
  keyExpiry.start();
  shutdown.add('key expiry', () => keyExpiry.stop());

  await replication.loadShared();
  await options.beforeListen?.({ store, keys });
  await http.listen(app.fetch, config.listen.host, config.listen.port);
  // Jobs that must run once in the whole deployment run on the leader replica.
  await replication.start([
    { name: 'ephemeral node removals', job: ephemeralReaper },
    { name: 'audit retention', job: new AuditRetention(audit, config.audit.retentionDays) },
    { name: 'console session sweeper', job: sessionSweeper },
    { name: 'proof nonce and sign-in sweeper', job: new IdentitySweeper(store, now, logger) },
  ]);
  const url = publicUrl();
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
    nodes,
    logger,
    replicas: replication.directory,
    leadership: replication.leadership,
    relay: relay?.port,
    stunPort: relay?.stun?.port,
    signInLink: (body: CreateSignInLink) => makeSignInLink(signInLinks, body, 'server start'),
    close: () => shutdown.run(),
  };
}

/** What /healthz says of the database. */
function storeDetail(s: StoreState): Record<string, unknown> {
  return s.reachable ? { reachable: true } : { reachable: false, reason: s.reason, since: isoTime(s.since) };
}

/** The relay and STUN ports answer from now on; the engine says who is who and who may reach whom. */
function startRelay(
  relay: OpenRelay,
  engine: NetmapEngine,
  stun: StunResponder,
  now: () => number,
  logger: Logger,
  link: LinkSettings | undefined,
): void {
  relay.port.start({
    ...(link && { link }),
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
  relay.stun?.start(stun, logger);
}

/** The console's live events: what the engine and the policy service report, as they happen. */
function liveEventsOf(engine: NetmapEngine, policies: PolicyService, now: () => number): LiveEvents {
  const live = new LiveEvents();
  const at = () => isoTime(now());
  engine.onNodeEvent((e) =>
    live.publish({
      event: { type: e.type, at: at(), nodeId: e.nodeId, name: e.name, reason: e.reason, paths: e.paths },
      ownerId: e.userId,
    }),
  );
  engine.onPrimaryChange((c) =>
    live.publish({
      event: {
        type: 'route.primary',
        at: at(),
        prefix: c.prefix,
        nodeId: c.to?.nodeId,
        from: c.from?.name,
        to: c.to?.name,
      },
    }),
  );
  policies.onChange((p) =>
    live.publish({ event: { type: 'policy.changed', at: at(), version: p.record.version, author: p.record.author } }),
  );
  return live;
}

/** Direct paths between relayed peers, signalled on their map streams (server/paths/). */
function pathBroker(engine: NetmapEngine, now: () => number, relay: UdpPort): PathBroker {
  return new PathBroker({
    visiblePeers: (id) => engine.visiblePeers(id),
    candidatesOf: (id) => {
      const live = engine.node(id);
      return live?.online ? { endpoints: live.record.endpoints, observed: live.observedEndpoint } : undefined;
    },
    // A peer whose stream is on another replica gets its trial there, over the relay link.
    send: (id, text) => engine.sendTo(id, text) || relay.sendPathTrial(id, text),
    now,
  });
}

/** A path trial another replica's broker sent over the link, checked, for a node whose stream is here. */
function trialFromLink(engine: NetmapEngine, logger: Logger): LinkSettings['onPathTrial'] {
  return (nodeId, text) => {
    const trial = PathTrial.safeParse(safeJson(text));
    if (!trial.success) return logger.warn({ nodeId }, 'relay link: a path trial that is not one; dropped');
    engine.sendTo(nodeId, jsonText<PathTrial>(trial.data));
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
