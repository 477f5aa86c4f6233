import type { Logger } from 'pino';
import { ControlClient } from '../control/control-client.ts';
import type { ServerList } from '../control/server-list.ts';
import type { MapState } from '../control/map-state.ts';
import type { PathTrial } from '../../protocol/map.ts';
import { MapStream } from '../control/map-stream.ts';
import { asFullMap, type SavedMap } from './state-store.ts';
import type { RouteHealthReport } from '../../protocol/route-health.ts';
import { PATH_REPORT_VERSION, type PathSummary } from '../../protocol/path-report.ts';

/** The first protocol version whose servers read route-health reports (older ones end the stream on them). */
const ROUTE_HEALTH_VERSION = 9;

/**
 * The agent's side of the control layer: one map stream to the server at a time, and this
 * node's endpoint candidates reported on connect and every `endpointRefreshMs` (the server
 * ignores repeats). What the maps mean is the agent's business, through `onMap`.
 */
interface ControlLinkDeps {
  onMap(state: MapState): void;
  onGoodbye(code: string, message: string): void;
  onPathTrial(trial: PathTrial): void;
  /** Re-read at each report: interfaces come and go. */
  endpoints(): string[];
  endpointRefreshMs: number;
  /** How this node reaches its peers now; checked every `pathRefreshMs` and sent when it moved. */
  paths?: () => Promise<PathSummary>;
  pathRefreshMs?: number;
  log: Logger;
}

export class ControlLink {
  private stream: MapStream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private up = false;
  /** The last route-health report, sent again on every new stream; whether this stream has it. */
  private health: RouteHealthReport | undefined;
  private healthSent = false;
  /** The path summary this stream last carried, as JSON; reset on every new stream. */
  private pathsSent: string | undefined;
  private pathTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ControlLinkDeps) {}

  /** Whether a stream is open or retrying (that is, the node wants to be connected). */
  get open(): boolean {
    return this.stream !== undefined;
  }

  get connected(): boolean {
    return this.up;
  }

  /** The map as the stream holds it now. */
  get map(): MapState | undefined {
    return this.stream?.state;
  }

  /**
   * Opens the map stream, resuming from `saved`. With `openAfter`, the stream holds `saved` (the
   * map status shows) at once but connects only once `openAfter` settles: the server shows a node
   * online from the moment its stream opens, so a caller whose data plane is still being set up
   * makes that wait for it (see Agent.start).
   */
  connect(
    servers: ServerList,
    machinePrivateKey: string,
    saved: SavedMap | undefined,
    openAfter?: Promise<unknown>,
  ): void {
    const stream = new MapStream(new ControlClient(servers, machinePrivateKey), {
      onMap: (state) => {
        this.sendHealth(stream);
        this.deps.onMap(state);
      },
      onGoodbye: (code, message) => this.deps.onGoodbye(code, message),
      onPathTrial: (trial) => this.deps.onPathTrial(trial),
      onConnection: (up) => {
        this.up = up;
        this.healthSent = false;
        this.pathsSent = undefined;
        if (up) this.report(stream);
        if (up) this.sendHealth(stream);
        this.deps.log.info(
          { connected: up, server: servers.current.url },
          up ? 'map stream open' : 'map stream closed; retrying with backoff',
        );
      },
    });
    // Resume: the stream asks for what changed since the map we still hold.
    if (saved) stream.state.apply(asFullMap(saved));
    this.stream = stream;
    const start = () => {
      // A disconnect (or another connect) while waiting ended this stream before it began.
      if (this.stream === stream) stream.start();
    };
    if (openAfter) void openAfter.then(start, start);
    else start();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.report(stream), this.deps.endpointRefreshMs);
    this.timer.unref();
    clearInterval(this.pathTimer);
    if (this.deps.paths) {
      this.pathTimer = setInterval(() => void this.sendPaths(stream), this.deps.pathRefreshMs ?? 5_000);
      this.pathTimer.unref();
    }
  }

  /** The machine's addresses changed: a fresh connection, and our new endpoints at once. */
  networkChanged(): void {
    const stream = this.stream;
    if (!stream) return;
    stream.reconnectNow(); // onConnection reports the endpoints once it is open
  }

  /** Asks the server for a direct-path trial with this peer; false while disconnected. */
  requestPath(peerId: string): boolean {
    return this.stream?.requestPath(peerId) ?? false;
  }

  /** This router's route health: to the server now if it reads it, and on every reconnect. */
  reportRouteHealth(report: RouteHealthReport): void {
    this.health = report;
    this.healthSent = false;
    if (this.stream) this.sendHealth(this.stream);
  }

  private sendHealth(stream: MapStream): void {
    if (!this.health || this.healthSent) return;
    // Before the first map of a fresh state the server's version is unknown: wait for it.
    if ((stream.state.serverProtocolVersion ?? 0) < ROUTE_HEALTH_VERSION) return;
    this.healthSent = stream.reportRouteHealth(this.health);
  }

  private async sendPaths(stream: MapStream): Promise<void> {
    if (!this.deps.paths || !this.up) return;
    if ((stream.state.serverProtocolVersion ?? 0) < PATH_REPORT_VERSION) return;
    const summary = await this.deps.paths().catch(() => undefined);
    if (!summary || stream !== this.stream) return;
    const text = JSON.stringify(summary);
    if (text === this.pathsSent) return;
    if (stream.reportPaths(summary)) this.pathsSent = text;
  }

  disconnect(): void {
    clearInterval(this.timer);
    clearInterval(this.pathTimer);
    this.stream?.stop();
    this.stream = undefined;
    this.up = false;
  }

  private report(stream: MapStream): void {
    stream.reportEndpoints(this.deps.endpoints());
  }
}
