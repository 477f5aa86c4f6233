import type { Logger } from 'pino';
import type { RelayConfig } from '../../protocol/map.ts';
import type { EngineConfig } from '../agent/reconfig.ts';
import type { DeviceState } from '../wireguard/uapi-format.ts';
import {
  DEFAULT_TIMINGS,
  RelayTransportSelector,
  type RelayTransportKind,
  type RelayTransportMode,
  type SelectorTimings,
  type ServerPeerSample,
} from './relay-transport-selector.ts';
import { relayAnswersStun } from './relay-stun-check.ts';
import { WsBridge } from './ws-bridge.ts';

/**
 * The agent's relay transport: keeps the selector (relay-transport-selector.ts) fed with what the
 * device says about the server peer, opens and closes the WebSocket bridge (ws-bridge.ts) as it
 * decides, and shapes each engine config accordingly: on the WebSocket, reconfig gets the
 * bridge's local endpoint as the relay endpoint (server peer and relayed peers alike), and while
 * UDP is probed the server peer alone keeps its UDP endpoint. When the choice changes the map is
 * applied again; once a new path is in place, handshakes start at once rather than at
 * WireGuard's next 5 s retry. When the server answers STUN on its relay port (the map has a
 * `stunPort`), UDP is also checked with STUN (relay-stun-check.ts) as the server peer first gets
 * its UDP endpoint and as a probe starts, and the verdict goes to the selector. A switch that
 * follows silent STUN comes within WireGuard's 5 s between initiations, so the peers that never
 * completed a handshake are restarted on the new path instead of nudged.
 */
interface RelayTransportDeps {
  mode: RelayTransportMode;
  /** WireGuard's listen port: where the bridge delivers. */
  wireguardPort: number;
  /** The node's server and its machine-key proofs; undefined while it has none. */
  server(): { serverUrl: string; proof(method: string, pathWithQuery: string): string } | undefined;
  device(): Promise<DeviceState | undefined>;
  /** Starts handshakes with these peers (default: all) now. */
  nudge(publicKeys?: readonly string[]): Promise<void>;
  /** Starts handshakes now even with peers whose last initiation (lost over UDP) was under 5 s ago. */
  restart(): Promise<void>;
  /** Applies the current map again: the endpoints it yields have changed. */
  reapply(): void;
  log: Logger;
  tickMs?: number;
  timings?: Partial<SelectorTimings>;
  /** Whether STUN to this UDP endpoint is answered (default relay-stun-check.ts). */
  stunCheck?: (endpoint: string) => Promise<boolean | undefined>;
}

/** reconfig for the current map, with the relay endpoint replaced when one is given. */
type BuildConfig = (relayEndpoint?: string) => EngineConfig;

export class RelayTransport {
  private readonly selector: RelayTransportSelector;
  private relay: RelaySettings | undefined;
  private bridge: WsBridge | undefined;
  private opening: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /** A new path to the server is in place (or about to be): start handshakes once the device uses it. */
  private nudgeDue = false;
  /** ... and WireGuard's initiations over UDP went nowhere moments ago: start them afresh. */
  private restartDue = false;
  /** The last STUN verdict said UDP to the relay is blocked. */
  private stunSilent = false;
  /** The UDP endpoint last checked with STUN while on UDP (once each). */
  private stunChecked: string | undefined;
  /** A probe began: check its UDP endpoint with STUN as it is applied. */
  private probeStunDue = false;

  constructor(private readonly deps: RelayTransportDeps) {
    this.selector = new RelayTransportSelector(deps.mode, { ...DEFAULT_TIMINGS, ...deps.timings });
  }

  get transport(): RelayTransportKind {
    return this.selector.transport;
  }

  /** The engine config for the map being applied; remembers the map's relay settings. */
  /**
   * Where relayed peers point after the last `configure`: the bridge while on the WebSocket
   * (also while the server peer alone probes UDP), else undefined: the UDP relay.
   */
  get relayedEndpoint(): string | undefined {
    const bridge = this.bridge;
    return this.relay && this.selector.transport === 'websocket' && bridge?.url === this.relay.url.href
      ? bridge.endpoint
      : undefined;
  }

  configure(relay: RelayConfig | undefined, build: BuildConfig): EngineConfig {
    this.relay = this.settingsOf(relay);
    if (!this.relay) {
      void this.closeBridge();
      return build();
    }
    this.start();
    if (this.selector.transport === 'udp') {
      const config = build();
      const endpoint = config.peers.find((p) => p.publicKey === this.relay!.serverKey)?.endpoint;
      if (this.relay.stun && this.selector.udpUnproven && endpoint && endpoint !== this.stunChecked) {
        this.stunChecked = endpoint;
        this.checkStun(endpoint);
      }
      return config;
    }
    const bridge = this.bridge;
    if (!bridge || bridge.url !== this.relay.url.href) {
      // Applied again once the bridge has its local port; until then the UDP endpoints stand.
      this.ensureBridge();
      return build();
    }
    const config = build(bridge.endpoint);
    if (!this.selector.probing) return config;
    const serverKey = this.relay.serverKey;
    const onUdp = build().peers.find((p) => p.publicKey === serverKey);
    if (this.probeStunDue && onUdp?.endpoint) {
      this.probeStunDue = false;
      this.checkStun(onUdp.endpoint);
    }
    return { ...config, peers: config.peers.map((p) => (p.publicKey === serverKey && onUdp ? onUdp : p)) };
  }

  /** Stops watching and closes the bridge (`down`, the agent stopping, membership ended). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.closeBridge();
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.deps.tickMs ?? 500);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.ticking || !this.relay) return;
    this.ticking = true;
    try {
      const { serverKey } = this.relay;
      const state = await this.deps.device().catch(() => undefined);
      const peer = state?.peers.find((p) => p.publicKey === serverKey);
      const sample: ServerPeerSample | undefined = peer && {
        rxBytes: peer.rxBytes,
        ...(peer.endpoint !== undefined && { endpoint: peer.endpoint }),
        ...(peer.lastHandshake && { lastHandshake: peer.lastHandshake.getTime() }),
      };
      const step = this.selector.observe(Date.now(), sample, this.bridge?.endpoint, this.bridge?.connected ?? false);
      if (step !== 'none') this.deps.log.info({ step, transport: this.selector.transport }, `relay transport: ${step}`);
      if (step === 'use-websocket') {
        this.deps.log.warn(
          this.stunSilent
            ? 'UDP to the server looks blocked (no STUN answer, TCP works): relaying over the WebSocket'
            : 'no handshake with the server over UDP: relaying over the WebSocket',
        );
        this.nudgeDue = true;
        this.restartDue = this.stunSilent;
        this.ensureBridge();
      } else if (step === 'use-udp') {
        void this.closeBridge();
      } else if (step === 'probe') {
        this.probeStunDue = this.relay.stun;
      } else if (step === 'measure') {
        await this.deps.nudge([serverKey]);
      }
      // Connected ahead while UDP is unproven; closed once UDP proves itself.
      if (this.selector.udpUnproven && sample) this.ensureBridge();
      else if (this.selector.transport === 'udp' && this.bridge && !this.opening) void this.closeBridge();
      if (step === 'use-websocket' || step === 'use-udp' || step === 'probe' || step === 'probe-failed')
        this.deps.reapply();
      const bridge = this.bridge;
      if (this.nudgeDue && bridge?.connected && sample?.endpoint === bridge.endpoint) {
        this.nudgeDue = false;
        if (this.restartDue) await this.deps.restart();
        else await this.deps.nudge();
        this.restartDue = false;
      }
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'relay transport check failed');
    } finally {
      this.ticking = false;
    }
  }

  /** STUN to the relay's UDP endpoint, meanwhile; the verdict is acted on at once. */
  private checkStun(endpoint: string): void {
    const sentAt = Date.now();
    void (this.deps.stunCheck ?? relayAnswersStun)(endpoint).then(
      (answered) => {
        if (answered === undefined || !this.timer) return;
        this.deps.log.info(
          { endpoint, answered },
          answered ? 'the relay answers STUN over UDP' : 'no STUN answer from the relay over UDP',
        );
        this.selector.noteStun({ endpoint, sentAt, answered });
        this.stunSilent = !answered;
        void this.tick();
      },
      (err: unknown) => this.deps.log.debug({ err: (err as Error).message }, 'STUN check of the relay failed'),
    );
  }

  private ensureBridge(): void {
    const relay = this.relay;
    if (this.opening || !relay || this.bridge?.url === relay.url.href) return;
    this.opening = (async () => {
      await this.closeBridge();
      const server = this.deps.server();
      if (!server) return;
      const bridge = await WsBridge.open({
        url: relay.url,
        authorization: (method, path) => server.proof(method, path),
        wireguardPort: this.deps.wireguardPort,
        onOpen: () => (this.nudgeDue = true),
        log: this.deps.log,
      });
      if (!this.timer) return void (await bridge.close()); // stopped meanwhile
      this.bridge = bridge;
      if (this.selector.transport === 'websocket') this.deps.reapply();
    })()
      .catch((err: unknown) => this.deps.log.error({ err }, 'cannot open the WebSocket bridge'))
      .finally(() => (this.opening = undefined));
  }

  private async closeBridge(): Promise<void> {
    const bridge = this.bridge;
    this.bridge = undefined;
    await bridge?.close();
  }

  /** The server's relay key and WebSocket URL, when the map has a relay this node can use. */
  private settingsOf(relay: RelayConfig | undefined): RelaySettings | undefined {
    const server = this.deps.server();
    if (!relay?.wireguardKey || relay.udpPort <= 0 || !server) return undefined;
    const url = URL.parse(relay.wsPath, server.serverUrl);
    // A path on the server we joined, never another host: the machine-key proof goes with it.
    if (!url || !relay.wsPath.startsWith('/') || url.host !== new URL(server.serverUrl).host) {
      this.deps.log.warn(
        { wsPath: relay.wsPath },
        "the map's relay.wsPath is not a path on the server: no WebSocket relay",
      );
      return undefined;
    }
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    // Servers that announce a STUN port also answer STUN on the relay port; older ones do neither.
    return { serverKey: relay.wireguardKey, url, stun: relay.stunPort !== undefined };
  }
}

interface RelaySettings {
  serverKey: string;
  url: URL;
  stun: boolean;
}
