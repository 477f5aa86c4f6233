import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { portError } from '../port-error.ts';

/**
 * The control server's HTTP port. It exists before the parts that serve on it, which need its
 * server (WebSocket upgrades) and its URL (sign-in links, the OpenAPI document), and it listens
 * once they all do, so no request ever reaches a half-built server.
 */
export class HttpListener {
  readonly server: Server = createServer();
  private host = '';

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
    });
  }
}
