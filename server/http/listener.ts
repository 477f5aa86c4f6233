import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import { portError } from '../port-error.ts';
import { acceptConnection } from './proxy-protocol/accept-connection.ts';
import { TrustedSources } from './proxy-protocol/trusted-sources.ts';

export interface HttpListenerOptions {
  /** Config `listen.proxyProtocol`: the load balancers that send a PROXY header, and how long it may take. */
  proxyProtocol?: { from: readonly string[]; headerTimeoutMs: number };
  logger?: Logger;
}

/**
 * The control server's HTTP port. It exists before the parts that serve on it, which need its
 * server (WebSocket upgrades) and its URL (sign-in links, the OpenAPI document), and it listens
 * once they all do, so no request ever reaches a half-built server.
 */
export class HttpListener {
  readonly server: Server = createServer();
  private host = '';
  /** Connections still sending their PROXY header: the HTTP server does not know them yet. */
  private readonly waiting = new Set<Socket>();

  constructor(options: HttpListenerOptions = {}) {
    const trusted = new TrustedSources(options.proxyProtocol?.from ?? []);
    if (!trusted.empty) this.readProxyHeaders(trusted, options.proxyProtocol!.headerTimeoutMs, options.logger);
  }

  /**
   * Puts the PROXY-protocol gate in front of the HTTP server's own connection handling, so its
   * requests and upgrades only ever see a connection once the client address is known.
   */
  private readProxyHeaders(trusted: TrustedSources, headerTimeoutMs: number, logger: Logger | undefined): void {
    const handlers = this.server.listeners('connection') as Array<(socket: Socket) => void>;
    this.server.removeAllListeners('connection');
    const pass = (socket: Socket) => {
      this.waiting.delete(socket);
      for (const handle of handlers) handle.call(this.server, socket);
    };
    const gate = {
      trusted,
      headerTimeoutMs,
      onRefused: (r: { code: string; message: string; peer: string }) =>
        logger?.warn({ code: r.code, peer: r.peer }, `connection closed: ${r.message}`),
    };
    this.server.on('connection', (socket: Socket) => {
      this.waiting.add(socket);
      socket.once('close', () => this.waiting.delete(socket));
      acceptConnection(socket, gate, pass);
    });
  }

  async listen(fetch: (req: Request) => Response | Promise<Response>, host: string, port: number): Promise<void> {
    this.host = host;
    this.server.on('request', getRequestListener(fetch, { hostname: host }));
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (err) =>
        reject(portError(err, { protocol: 'TCP', host, port, setting: 'listen.port' })),
      );
      // A replica that dies sends its agents here all at once: connections wait in the kernel's
      // queue while the event loop is busy instead of being refused (and health checks with them).
      this.server.listen({ port, host, backlog: 4096 }, () => resolve());
    });
  }

  /** The URL it answers on, from the listen address (the config's `publicUrl` overrides it). */
  get url(): string {
    const address = this.server.address() as AddressInfo | null;
    if (!address) throw new TypeError('the HTTP port is not listening yet');
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${address.port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      for (const socket of this.waiting) socket.destroy();
    });
  }
}
