import WebSocket from 'ws';
import { jsonText } from '../../protocol/json-text.ts';
import {
  CloseCode,
  ServerMessage,
  type DeltaMap,
  type EndpointsUpdate,
  type FullMap,
  type PathRequest,
  type PathTrial,
  type Pong,
} from '../../protocol/map.ts';
import type { RouteHealthReport } from '../../protocol/route-health.ts';
import type { PathReport, PathSummary } from '../../protocol/path-report.ts';
import type { ControlClient } from './control-client.ts';
import { MapState, type MapChange } from './map-state.ts';
import { pinnedLookup, type ServerTarget } from './server-list.ts';
import { SilenceWatchdog } from './silence-watchdog.ts';

export interface MapStreamHandlers {
  /** `bytes`: the message's size on the wire. */
  onMap(state: MapState, change: MapChange, bytes: number): void;
  /** The server ended this node's membership (deleted, expired); the stream stops. */
  onGoodbye?(code: string, message: string): void;
  onConnection?(connected: boolean): void;
  /** The server asks this node and a peer to try a direct path now. */
  onPathTrial?(trial: PathTrial): void;
}

export interface MapStreamOptions {
  /** Check every message against the protocol schema (on by default). */
  validate?: boolean;
  /** Reconnect when the server has sent nothing (not even a ping) for this long. */
  silenceTimeoutMs?: number;
  /** Where the map is kept (default: a new MapState); the benchmark's simulated nodes keep less. */
  state?: MapState;
}

const PATH = '/api/v1/machine/map';
const KNOWN_TYPES: ReadonlySet<string> = new Set(ServerMessage.options.map((o) => o.shape.type.value));
const FINAL_CLOSES: readonly number[] = [CloseCode.nodeDeleted, CloseCode.nodeExpired];

/**
 * Keeps the map stream open: resumes from the last applied version after a reconnect,
 * answers heartbeats, and retries until stopped: on the next replica of the client's server
 * list, with jittered backoff once every one failed (server-list.ts). A move resumes with the
 * same `since` and the map's change-log seq: a replica that can tell from the log what changed
 * since answers with a resume delta, any other with a full map numbered after it.
 */
export class MapStream {
  readonly state: MapState;
  private ws?: WebSocket;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  private sameServer = false;
  private readonly watchdog: SilenceWatchdog;

  constructor(
    private readonly client: ControlClient,
    private readonly handlers: MapStreamHandlers,
    private readonly options: MapStreamOptions = {},
  ) {
    this.watchdog = new SilenceWatchdog(options.silenceTimeoutMs ?? 100_000);
    this.state = options.state ?? new MapState();
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.watchdog.stop();
    this.ws?.close(1000, 'agent stopping');
  }

  reportEndpoints(endpoints: string[]): void {
    if (this.ws?.readyState === WebSocket.OPEN)
      this.ws.send(jsonText<EndpointsUpdate>({ type: 'endpoints', endpoints }));
  }

  /**
   * The machine's addresses changed: a connection from the old one is dead but would look alive
   * until the watchdog gives up. Connect again now.
   */
  reconnectNow(): void {
    if (this.stopped) return;
    clearTimeout(this.retry);
    const ws = this.ws;
    if (ws) {
      this.sameServer = true; // our address changed, not the server's health
      ws.terminate(); // its close handler connects again
    } else this.connect();
  }

  /** This router's route health (protocol 9); false while disconnected. */
  reportRouteHealth(report: RouteHealthReport): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(jsonText<RouteHealthReport>(report));
    return true;
  }

  /** How this node reaches its peers (protocol 14); false while disconnected. */
  reportPaths(summary: PathSummary): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(jsonText<PathReport>({ type: 'paths', ...summary }));
    return true;
  }

  /** Asks the server to signal this node and `peerId` to try a direct path. */
  requestPath(peerId: string): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(jsonText<PathRequest>({ type: 'path-request', peer: peerId }));
    return true;
  }

  private connect(): void {
    void this.client.servers.pick().then((target) => {
      if (!this.stopped && !this.ws) this.open(target);
    });
  }

  private open(target: ServerTarget): void {
    const query = resumeQuery(this.state);
    const url = new URL(PATH + query, target.url);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url, {
      headers: { authorization: this.client.proof('GET', PATH + query) },
      perMessageDeflate: false,
      ...(target.address && { lookup: pinnedLookup(target.address) }),
    });
    this.ws = ws;
    let goodbye = false;
    ws.on('open', () => {
      this.client.servers.succeeded(target);
      this.watchdog.watch(ws);
      this.handlers.onConnection?.(true);
    });
    ws.on('message', (data) => {
      this.watchdog.heard();
      const text = data.toString();
      const msg = this.parse(text);
      if (msg === 'skip') return; // from a newer server, or advice we cannot read
      if (!msg) return ws.close(1002, 'bad message');
      if (msg.type === 'ping') ws.send(jsonText<Pong>({ type: 'pong', t: msg.t }));
      else if (msg.type === 'goodbye') {
        goodbye = true;
        this.handlers.onGoodbye?.(msg.code, msg.message);
      } else if (msg.type === 'full' || msg.type === 'delta') this.applyMap(msg, ws, text.length);
      else if (msg.type === 'path-trial') this.handlers.onPathTrial?.(msg);
      // The map held reflects the log that far: a resume elsewhere names it (protocol/map.ts).
      else if (msg.type === 'seq' && this.state.version >= 0) this.state.changeSeq = msg.changeSeq;
    });
    ws.on('unexpected-response', (_req, res) => {
      // A refused upgrade: an unknown or expired node will not be let in by retrying.
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (status === 401 || status === 403) {
          goodbye = true;
          const body = safeJson(Buffer.concat(chunks).toString()) as { code?: string; message?: string } | undefined;
          this.handlers.onGoodbye?.(
            body?.code ?? 'stream.refused',
            body?.message ?? `the server refused the map stream (HTTP ${status})`,
          );
        }
        ws.terminate();
      });
    });
    ws.on('error', () => {});
    ws.on('close', (code: number) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.watchdog.stop();
      this.handlers.onConnection?.(false);
      if (this.stopped || goodbye || FINAL_CLOSES.includes(code)) return;
      // The next replica, at once within a round, with backoff once each was tried (server-list.ts).
      const delay = this.sameServer ? 0 : this.client.servers.failed(target);
      this.sameServer = false;
      this.retry = setTimeout(() => this.connect(), delay);
    });
  }

  private applyMap(msg: FullMap | DeltaMap, ws: WebSocket, bytes: number): void {
    let change: MapChange;
    try {
      change = this.state.apply(msg);
    } catch {
      this.state.version = -1; // out of step: start over with a full map
      ws.close(1000, 'resync');
      return;
    }
    this.handlers.onMap(this.state, change, bytes);
  }

  private parse(text: string): ServerMessage | 'skip' | undefined {
    const json = safeJson(text);
    if (this.options.validate === false) return json as ServerMessage | undefined;
    const result = ServerMessage.safeParse(json);
    if (result.success) return result.data;
    const type = (json as { type?: unknown } | undefined)?.type;
    // A path trial is advice: one we cannot read is skipped, not worth the stream.
    return typeof type === 'string' && (!KNOWN_TYPES.has(type) || type === 'path-trial') ? 'skip' : undefined;
  }
}

/** `?since=V&seq=S`: the map held, for a resume (protocol/map.ts); none before the first map. */
function resumeQuery(state: Pick<MapState, 'version' | 'changeSeq'>): string {
  if (state.version < 0) return '';
  return `?since=${state.version}${state.changeSeq === undefined ? '' : `&seq=${state.changeSeq}`}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
