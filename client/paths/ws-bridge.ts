import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import WebSocket, { type RawData } from 'ws';
import { Backoff } from '../control/backoff.ts';
import { SilenceWatchdog } from '../control/silence-watchdog.ts';
import { RelayTransportError } from './relay-transport-errors.ts';

/**
 * WireGuard's relay traffic over a WebSocket, for networks that block UDP. WireGuard needs a UDP
 * endpoint, so the bridge is one: a socket on 127.0.0.1 (ephemeral port) that the agent gives
 * WireGuard as the relay's endpoint. Datagrams from WireGuard's own port go to the server's
 * WebSocket relay (server/relay/ws-relay.ts), one binary message each; messages from the server
 * go to WireGuard's port. Nothing else is bridged: other local senders and text frames are
 * dropped. The connection is proved with the machine key and comes back with jittered backoff.
 * Nothing queues without bound: while the connection is down or backed up, datagrams are dropped
 * (WireGuard retries what matters).
 */
interface WsBridgeOptions {
  /** The relay's WebSocket URL (ws: or wss:). */
  url: URL;
  /** A fresh machine-key proof for `GET <path>`, one per connection attempt. */
  authorization: (method: string, pathWithQuery: string) => string;
  /** WireGuard's listen port on this machine. */
  wireguardPort: number;
  /** The connection is (again) open: handshakes can start over it. */
  onOpen?: () => void;
  log?: Logger;
  backoff?: Backoff;
  /** Reconnect when the server has sent nothing, not even a ping, for this long. */
  silenceTimeoutMs?: number;
}

/** A UDP datagram's largest payload; a frame holds exactly one. */
const MAX_DATAGRAM_BYTES = 65_535;
/** Unsent bytes on the connection beyond which datagrams from WireGuard are dropped. */
const MAX_BUFFERED_BYTES = 1 << 20;
const LOOPBACK = '127.0.0.1';

export class WsBridge {
  readonly counts = { toServer: 0, fromServer: 0, dropped: 0 };
  private ws: WebSocket | undefined;
  private retry: NodeJS.Timeout | undefined;
  private readonly watchdog: SilenceWatchdog;
  private closed = false;
  private readonly backoff: Backoff;

  private constructor(
    private readonly socket: Socket,
    private readonly options: WsBridgeOptions,
  ) {
    this.backoff = options.backoff ?? new Backoff();
    this.watchdog = new SilenceWatchdog(options.silenceTimeoutMs ?? 75_000);
    socket.on('message', (packet, from) => this.fromWireGuard(packet, from));
    socket.on('error', (err) => options.log?.warn({ err: err.message }, 'WebSocket bridge: local socket error'));
  }

  /** Binds the local socket and starts connecting. */
  static async open(options: WsBridgeOptions): Promise<WsBridge> {
    if (options.url.protocol !== 'ws:' && options.url.protocol !== 'wss:') {
      throw new RelayTransportError(
        'relay_transport.bad_url',
        `the WebSocket relay URL must be ws: or wss:, not ${options.url.protocol}`,
      );
    }
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err) =>
        reject(
          new RelayTransportError(
            'relay_transport.bind_failed',
            `cannot open the WebSocket bridge's UDP socket on ${LOOPBACK}: ${err.message}`,
            { cause: err },
          ),
        ),
      );
      socket.bind(0, LOOPBACK, () => resolve());
    });
    socket.removeAllListeners('error');
    const bridge = new WsBridge(socket, options);
    bridge.connect();
    return bridge;
  }

  /** What WireGuard uses as the relay's endpoint. */
  get endpoint(): string {
    return `${LOOPBACK}:${this.socket.address().port}`;
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  get url(): string {
    return this.options.url.href;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retry);
    this.watchdog.stop();
    this.ws?.close(1000, 'agent done with the WebSocket relay');
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private connect(): void {
    const path = this.options.url.pathname + this.options.url.search;
    const ws = new WebSocket(this.options.url, {
      headers: { authorization: this.options.authorization('GET', path) },
      perMessageDeflate: false,
      maxPayload: MAX_DATAGRAM_BYTES,
    });
    this.ws = ws;
    ws.on('open', () => {
      this.backoff.reset();
      this.watchdog.watch(ws);
      this.options.log?.info({ url: this.url }, 'WebSocket relay connected');
      this.options.onOpen?.();
    });
    ws.on('ping', () => this.watchdog.heard());
    ws.on('message', (data: RawData, isBinary: boolean) => {
      this.watchdog.heard();
      if (!isBinary || Array.isArray(data) || data instanceof ArrayBuffer) return void this.counts.dropped++;
      this.counts.fromServer++;
      this.socket.send(data, this.options.wireguardPort, LOOPBACK, ignoreSendError);
    });
    ws.on('unexpected-response', (_req, res) => {
      this.options.log?.warn(
        { status: res.statusCode },
        'WebSocket relay refused the connection; retrying with backoff',
      );
      ws.terminate();
    });
    ws.on('error', (err) => this.options.log?.debug({ err: err.message }, 'WebSocket relay error'));
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.watchdog.stop();
      if (this.closed) return;
      this.retry = setTimeout(() => this.connect(), this.backoff.next());
    });
  }

  private fromWireGuard(packet: Buffer, from: RemoteInfo): void {
    // Only WireGuard's own port: any other local process could otherwise speak for this node.
    if (from.address !== LOOPBACK || from.port !== this.options.wireguardPort) return void this.counts.dropped++;
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > MAX_BUFFERED_BYTES)
      return void this.counts.dropped++;
    this.counts.toServer++;
    ws.send(packet, { binary: true });
  }
}

/** A datagram that cannot be handed to WireGuard is lost like any other. */
function ignoreSendError(): void {}
