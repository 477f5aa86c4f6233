import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { KubeProxyError } from './errors.ts';
import type { KubeProxy } from './kube-proxy.ts';
import type { ServingCertificate } from './serving-cert.ts';

/**
 * The proxy's HTTPS listeners: one per mesh address of this node and nothing else, so only
 * packets that came through the mesh (WireGuard, from a peer the policy lets in) reach it.
 * A watch or exec may last hours: no request timeout, only a bound on the headers.
 */
export class MeshListener {
  private readonly servers: Server[] = [];
  /** Upgraded connections (exec, port-forward) leave the HTTP server's books: closed here. */
  private readonly upgraded = new Set<Duplex>();

  constructor(
    private readonly proxy: KubeProxy,
    private readonly cert: ServingCertificate,
    private readonly logger: Logger,
  ) {}

  /**
   * Listens on each address. One the agent is still adding (a service address the map just
   * gave) is tried again until `deadline`.
   */
  async listen(addresses: readonly string[], port: number, deadline = 0): Promise<string[]> {
    if (addresses.length === 0)
      throw new KubeProxyError(
        'kube_proxy.no_mesh_address',
        'this node has no mesh address yet: run `trellis up` first',
      );
    const urls: string[] = [];
    for (const address of addresses) {
      const server = createServer({ ...this.cert.load(), requestTimeout: 0, headersTimeout: 30_000 }, (req, res) => {
        void this.proxy.handle(req, res);
      });
      server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
        this.upgraded.add(socket);
        socket.once('close', () => this.upgraded.delete(socket));
        void this.proxy.upgrade(req, socket, head);
      });
      server.on('tlsClientError', (err) => this.logger.debug({ err }, 'TLS handshake failed'));
      for (;;) {
        const bound = await new Promise<Error | undefined>((resolve) => {
          server.once('error', resolve);
          server.listen(port, address, () => {
            server.off('error', resolve);
            resolve(undefined);
          });
        });
        if (!bound) break;
        if ((bound as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL' || Date.now() >= deadline) throw bound;
        await new Promise((r) => setTimeout(r, 200));
      }
      this.servers.push(server);
      const bound = (server.address() as AddressInfo).port;
      urls.push(`https://${address.includes(':') ? `[${address}]` : address}:${bound}`);
    }
    return urls;
  }

  /** A renewed certificate, for the next connections. */
  reloadCertificate(): void {
    const pair = this.cert.load();
    for (const s of this.servers) s.setSecureContext(pair);
  }

  async close(): Promise<void> {
    for (const socket of this.upgraded) socket.destroy();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
    for (const socket of this.upgraded) socket.destroy();
    this.servers.length = 0;
  }
}
