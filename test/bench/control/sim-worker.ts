/**
 * A child process holding a slice of the simulated nodes, so that the simulator spreads over
 * processes (each with its own event loop and its own descriptor limit) and is not what the
 * benchmark measures. Commands arrive over IPC from fleet.ts; what the nodes see goes back in
 * batches every 20 ms.
 */
import { SimNode, inParallel, retries, type SimEvents } from './sim-node.ts';
import type { FleetCommand, FleetReport } from './fleet.ts';

let sims: SimNode[] = [];
let watched = new Set<string>();
let batch: Extract<FleetReport, { op: 'events' }> = empty();

function empty(): Extract<FleetReport, { op: 'events' }> {
  return { op: 'events', fulls: [], upserts: [], filters: [], remapped: [] };
}

const send = (report: FleetReport) => process.send!(report);

setInterval(() => {
  if (batch.fulls.length + batch.upserts.length + batch.filters.length + batch.remapped.length === 0 && !batch.sample)
    return;
  send(batch);
  batch = empty();
}, 20).unref();

const events: SimEvents = {
  onFull: (n, bytes, at, relayPort) => batch.fulls.push([n.index, at, bytes, relayPort]),
  onPeerUpserted: (n, key, at) => {
    if (watched.has(key)) batch.upserts.push([key, at, n.index]);
  },
  onFilter: (n, bytes, at, text) => {
    batch.filters.push([n.index, at, bytes]);
    batch.sample ??= text();
  },
  onRemapped: (n, at, resumed, relayPort) => batch.remapped.push([n.index, at, resumed, relayPort]),
};

async function handle(cmd: FleetCommand): Promise<unknown> {
  switch (cmd.op) {
    case 'init':
      sims = cmd.nodes.map(([index, team]) => new SimNode(index, team, cmd.servers));
      return sims.map((s) => [s.wireguardKey, s.machineKey]);
    case 'register':
      await inParallel(
        sims.filter((s) => s.index < cmd.below),
        cmd.parallel,
        (s) => s.register(cmd.keys[s.team]!),
      );
      return retries;
    case 'connect': {
      const chosen = sims.filter((s) => s.index < cmd.below);
      await inParallel(chosen, cmd.parallel, (s) =>
        cmd.floorUrl ? s.connectFloor(events, cmd.floorUrl) : s.connect(events),
      );
      return chosen.length;
    }
    case 'watch':
      watched = new Set(cmd.keys);
      return watched.size;
    case 'close':
      for (const s of sims) s.close();
      return sims.length;
  }
}

process.on('message', (msg: { id: number; cmd: FleetCommand }) => {
  handle(msg.cmd).then(
    (result) => {
      // Whatever the nodes saw before the answer goes first.
      send(batch);
      batch = empty();
      send({ op: 'done', id: msg.id, result });
    },
    (err: Error) => send({ op: 'done', id: msg.id, error: err.stack ?? err.message }),
  );
});
process.on('disconnect', () => process.exit(0));
send({ op: 'ready' });
