import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { CloseCode } from '../../protocol/map.ts';
import { addMachineUpgrade, type MachineUpgradeDeps, type UpgradeRouter } from '../http/upgrade-router.ts';
import type { UdpPort } from './udp-port.ts';

/**
 * The relay over a WebSocket on the control server's HTTP port, for nodes whose network blocks
 * UDP. The upgrade is proved with the machine key like the map stream (failed proofs are rate
 * limited per source). Each binary message is one WireGuard datagram; it enters the UDP port's
 * pipeline on a virtual path of this connection (UdpPort.attachVirtual), so the responder,
 * reflector, relay, rate limits and policy apply unchanged, and what the pipeline sends to the
 * path comes back as one binary message. One connection per node: a new one replaces the old.
 */
interface WsRelayDeps extends MachineUpgradeDeps {
  port: UdpPort;
  /** How often the connection is pinged; one without a pong by the next ping is dropped. */
  pingMs?: number;
}

/** A UDP datagram's largest payload; a frame holds exactly one datagram. */
const MAX_DATAGRAM_BYTES = 65_535;
/** Unsent bytes per connection beyond which datagrams are dropped, not queued: WireGuard retries. */
const MAX_BUFFERED_BYTES = 1 << 20;
const UNSUPPORTED_DATA = 1003;

export function attachWsRelay(
  upgrades: UpgradeRouter,
  path: string,
  deps: WsRelayDeps,
): { readonly counts: { dropped: number }; close(): Promise<void> } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_DATAGRAM_BYTES, perMessageDeflate: false });
  const byNode = new Map<string, WebSocket>();
  const counts = { dropped: 0 };

  addMachineUpgrade(
    upgrades,
    path,
    { what: 'WebSocket relay', sourceKey: 'relay-ws' },
    deps,
    (req, socket, head, _url, nodeId) => {
      wss.handleUpgrade(req, socket, head, (ws) => serve(ws, nodeId));
    },
  );

  function serve(ws: WebSocket, nodeId: string): void {
    byNode.get(nodeId)?.close(CloseCode.replaced, 'another relay connection of this node');
    byNode.set(nodeId, ws);
    const path = deps.port.attachVirtual(nodeId, (packet) => {
      if (ws.readyState !== ws.OPEN || ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        counts.dropped++;
        return;
      }
      ws.send(packet, { binary: true });
    });
    let alive = true;
    const pinger = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, deps.pingMs ?? 30_000);
    ws.on('pong', () => (alive = true));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      alive = true;
      if (!isBinary) return ws.close(UNSUPPORTED_DATA, 'binary WireGuard datagrams only');
      path.receive(asBytes(data));
    });
    ws.on('close', () => {
      clearInterval(pinger);
      path.detach();
      if (byNode.get(nodeId) === ws) byNode.delete(nodeId);
    });
    ws.on('error', (err) => deps.logger.debug({ nodeId, err: err.message }, 'WebSocket relay error'));
    deps.logger.debug({ nodeId, address: path.address.address }, 'WebSocket relay connection open');
  }

  return {
    counts,
    async close() {
      for (const ws of wss.clients) ws.close(CloseCode.shuttingDown, 'server shutting down');
      // A peer that never answers the close frame must not hold the shutdown up.
      const cutoff = setTimeout(() => {
        for (const ws of wss.clients) ws.terminate();
      }, 1_000);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      clearTimeout(cutoff);
    },
  };
}

/** `ws` hands a binary message over as one Buffer unless told otherwise; fragments are joined. */
function asBytes(data: RawData): Uint8Array {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
