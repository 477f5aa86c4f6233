import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const TLS_DIR = join(import.meta.dirname, '../fixtures/tls');
/** The test CA (a self-signed certificate for localhost and 127.0.0.1). */
export const TEST_CA_FILE = join(TLS_DIR, 'localhost-cert.pem');

/** A real HTTPS server on loopback serving JSON documents by path; counts requests per path. */
export interface JsonHttpsServer {
  url: string;
  docs: Map<string, unknown>;
  hits: Map<string, number>;
  close(): Promise<void>;
}

export async function startJsonHttpsServer(): Promise<JsonHttpsServer> {
  const docs = new Map<string, unknown>();
  const hits = new Map<string, number>();
  const server: Server = createServer(
    { cert: readFileSync(TEST_CA_FILE), key: readFileSync(join(TLS_DIR, 'localhost-key.pem')) },
    (req, res) => {
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const doc = docs.get(path);
      if (doc === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    docs,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
