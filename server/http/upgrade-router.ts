import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { TrellisError } from '../errors.ts';
import { INTERNAL_ERROR_BODY, httpStatus, knownError } from './error-handler.ts';
import type { CallerAuth } from './caller-auth.ts';
import { clientAddress } from './client-address.ts';
import type { RateLimiter } from './rate-limit.ts';

/** Takes over an upgrade request whose path it was registered for. */
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void;

/**
 * WebSocket upgrades on the control server's HTTP port, by exact path (the map stream, the
 * WebSocket relay). Node has one `upgrade` event per server: each feature owning a listener
 * would answer every other feature's path too. Unknown paths get a 404 and the socket closes,
 * so a stray upgrade never hangs.
 */
export class UpgradeRouter {
  private readonly routes = new Map<string, UpgradeHandler>();

  constructor(server: Server) {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Node hands an upgrade's socket over without its error listener: a peer that hangs up
      // while the proof is checked (a load balancer cutting the connection) makes the refusal's
      // write fail with EPIPE, and unhandled that killed the whole server.
      socket.on('error', () => socket.destroy());
      const url = new URL(req.url ?? '/', 'http://x');
      const handler = this.routes.get(url.pathname);
      if (!handler) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      handler(req, socket, head, url);
    });
  }

  add(path: string, handler: UpgradeHandler): void {
    if (this.routes.has(path)) throw new TypeError(`two WebSocket endpoints on ${path}`);
    this.routes.set(path, handler);
  }
}

export interface MachineUpgradeDeps {
  auth: CallerAuth;
  limiter: RateLimiter;
  logger: Logger;
  now(): number;
}

/**
 * Registers `path` for upgrades proved with a registered node's machine key. Only failed
 * attempts count against the source address (a whole office behind one NAT may reconnect at
 * once, but guessing at proofs is throttled); a refusal is answered as the HTTP API would.
 * `accept` completes the upgrade for the proven node, or throws (or rejects with) a TrellisError
 * to refuse it.
 */
export function addMachineUpgrade(
  upgrades: UpgradeRouter,
  path: string,
  names: { what: string; sourceKey: string },
  deps: MachineUpgradeDeps,
  accept: (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, nodeId: string) => void | Promise<void>,
): void {
  upgrades.add(path, (req, socket, head, url) => {
    const client = clientAddress(req.socket);
    const source = `${names.sourceKey}:${client}`;
    const open = async () => {
      deps.limiter.check(source, deps.now());
      const { node } = await deps.auth.registeredMachine(
        req.headers.authorization,
        'GET',
        url.pathname + url.search,
        new Uint8Array(),
      );
      await accept(req, socket, head, url, node.id);
    };
    open().catch((err) => {
      if (err instanceof TrellisError && err.kind !== 'rate_limited') deps.limiter.take(source, deps.now());
      refuseUpgrade(socket, err, deps.logger, names.what, client);
    });
  });
}

/** Answers a refused upgrade as the HTTP API would: the error's status, code and message. */
function refuseUpgrade(socket: Duplex, err: unknown, logger: Logger, what: string, source: string): void {
  const known = knownError(err);
  if (known) logger.info({ code: known.code, source }, `${what} refused: ${known.message}`);
  else logger.error({ err, source }, `${what} upgrade failed`);
  const status = known ? httpStatus(known) : 500;
  const body = JSON.stringify(known ? { code: known.code, message: known.message } : INTERNAL_ERROR_BODY);
  socket.end(
    `HTTP/1.1 ${status} ${status === 500 ? 'Internal Server Error' : 'Refused'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
