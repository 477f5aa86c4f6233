import { WebSocketServer, type WebSocket } from 'ws';
import { jsonText } from '../../protocol/json-text.ts';
import { ClientMessage, CloseCode, type Goodbye, type Ping, type Pong } from '../../protocol/map.ts';
import { TrellisError } from '../errors.ts';
import { addMachineUpgrade, type MachineUpgradeDeps, type UpgradeRouter } from '../http/upgrade-router.ts';
import type { NodeService } from '../nodes/node-service.ts';
import type { PathBroker } from '../paths/path-broker.ts';
import type { NetmapEngine } from './engine.ts';
import { Heartbeat } from './heartbeat.ts';

export const MAP_PATH = '/api/v1/machine/map';
const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;
/**
 * How long a stream whose agent's map is ahead of this replica waits for it to catch up (a
 * change read from the log takes milliseconds, a second under load); after that, a full map.
 */
const CATCH_UP_WAIT_MS = 2_000;

interface StreamServerDeps extends MachineUpgradeDeps {
  engine: NetmapEngine;
  nodes: NodeService;
  /** Absent when the server's UDP port is off: there are no relayed sessions to upgrade. */
  paths?: PathBroker;
  heartbeatMs: number;
  /** The faster heartbeat of a router's stream (`routes.heartbeatMs`): its death moves its prefixes. */
  routerHeartbeatMs: number;
  /** Why new streams are refused now (the replica is cut off from its database), if they are. */
  refusal?: () => Error | undefined;
}

export interface MapStreamServer {
  /** Closes every open stream with this code: the agents reconnect, to another replica first. */
  closeAll(code: number, reason: string): void;
  close(): Promise<void>;
}

/**
 * The map stream: a WebSocket upgrade proved with the machine key (the proof signs the path
 * and its `since` query, so it cannot open anyone else's stream), then the engine's messages
 * out; liveness, endpoint reports and direct-path requests in.
 */
export function attachMapStream(upgrades: UpgradeRouter, deps: StreamServerDeps): MapStreamServer {
  let closing = false;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE_BYTES, perMessageDeflate: false });

  addMachineUpgrade(
    upgrades,
    MAP_PATH,
    { what: 'map stream', sourceKey: 'stream' },
    deps,
    async (req, socket, head, url, nodeId) => {
      const refuseIfCutOff = () => {
        const refused = deps.refusal?.();
        if (refused) throw refused;
      };
      refuseIfCutOff();
      const since = wholeNumber(url, 'since', 'a map version');
      // The change-log position of the agent's map (protocol 15): lets another replica resume it.
      const seq = wholeNumber(url, 'seq', 'a change-log seq');
      // The agent's map holds changes this replica has yet to read from the log (the replica
      // that wrote them served it): resumed from this replica's view now, it would lose them.
      const caughtUp = seq === undefined ? undefined : deps.engine.appliedUpTo(seq, CATCH_UP_WAIT_MS);
      if (caughtUp) {
        await caughtUp;
        // Meanwhile the server may have begun to stop (the agent goes elsewhere) or been cut off.
        if (closing) {
          socket.destroy();
          return;
        }
        refuseIfCutOff();
      }
      if (socket.destroyed) return;
      wss.handleUpgrade(req, socket, head, (ws) => serve(ws, nodeId, since, seq));
    },
  );

  function serve(ws: WebSocket, nodeId: string, since: number | undefined, seq: number | undefined): void {
    const session = deps.engine.attach(nodeId, ws, since, seq);
    if (!session) {
      ws.close(CloseCode.nodeDeleted, 'node not in the network');
      return;
    }
    const interval = () =>
      deps.engine.isRouter(nodeId) ? Math.min(deps.routerHeartbeatMs, deps.heartbeatMs) : deps.heartbeatMs;
    const heartbeat = new Heartbeat(interval, deps.now, {
      ping: () => session.send(jsonText<Ping>({ type: 'ping', t: deps.now() })),
      dead: () => ws.terminate(),
    });
    heartbeat.start();

    ws.on('message', (data, isBinary) => {
      heartbeat.heard();
      const parsed = isBinary ? undefined : safeJson(data.toString());
      const msg = ClientMessage.safeParse(parsed);
      if (!msg.success) {
        session.send(
          jsonText<Goodbye>({
            type: 'goodbye',
            code: 'stream.bad_message',
            message: 'messages must be JSON ping, pong, endpoints, path-request, route-health or paths',
          }),
        );
        session.close(CloseCode.badMessage, 'bad message');
        return;
      }
      const m = msg.data;
      if (m.type === 'ping') session.send(jsonText<Pong>({ type: 'pong', t: m.t }));
      else if (m.type === 'endpoints') {
        deps.nodes.reportEndpoints(nodeId, m.endpoints).catch((err) => {
          deps.logger.info({ nodeId, err: (err as Error).message }, 'endpoint report refused');
        });
      } else if (m.type === 'path-request') {
        const outcome = deps.paths?.request(nodeId, m.peer) ?? 'no_relay';
        deps.logger.debug({ nodeId, peer: m.peer, outcome }, 'direct path requested');
      } else if (m.type === 'route-health') deps.engine.reportRouteHealth(nodeId, m);
      else if (m.type === 'paths') deps.engine.reportPaths(nodeId, { direct: m.direct, relay: m.relay, none: m.none });
    });
    ws.on('close', () => {
      heartbeat.stop();
      deps.engine.detach(session);
      // The store is closing too, or cannot be reached (the replica is cut off): nothing to record.
      if (closing || deps.refusal?.()) return;
      deps.nodes
        .disconnected(nodeId)
        .catch((err) => deps.logger.error({ err, nodeId }, 'disconnect bookkeeping failed'));
    });
    ws.on('error', (err) => deps.logger.debug({ nodeId, err: err.message }, 'map stream error'));
  }

  return {
    closeAll(code, reason) {
      for (const ws of wss.clients) ws.close(code, reason);
    },
    async close() {
      closing = true;
      for (const ws of wss.clients) ws.close(CloseCode.shuttingDown, 'server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** The query parameter `name` as a whole number, absent: undefined. */
function wholeNumber(url: URL, name: string, what: string): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null) return undefined;
  if (!/^\d{1,16}$/.test(text)) {
    throw new TrellisError('invalid', 'request.invalid_field', `query.${name} must be ${what} (a whole number)`, {
      where: `query.${name}`,
    });
  }
  return Number(text);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
