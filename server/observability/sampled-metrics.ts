import { Counter, Gauge } from 'prom-client';
import type { ServerMetrics } from './metrics.ts';
import { RouteRole } from '../../protocol/route-health.ts';

const ROUTE_ROLES = RouteRole.options;

interface RelayStats {
  sessions: number;
  routes: number;
  handshakes: number;
  cookieReplies: number;
  forwarded: number;
  dropped: number;
  /** STUN Binding requests answered, on the relay port and the STUN port. */
  stunAnswers: number;
}

interface MetricSources {
  connected: () => number;
  nodes: () => number;
  queues: () => { pending: number; queuedBytes: number };
  /** Every advertised prefix and its routers' roles (server/routes/). */
  routes: () => ReadonlyArray<{ prefix: string; routers: ReadonlyArray<{ role: string }> }>;
  /** The UDP reflector and relay's running totals; absent when it is disabled. */
  relay?: () => RelayStats;
}

/** Metrics read from the running parts at each scrape, added once those parts exist. */
export function addSampledMetrics(metrics: ServerMetrics, sample: MetricSources): void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'trellis_connected_nodes',
    help: 'Nodes with an open map stream',
    registers,
    collect() {
      this.set(sample.connected());
    },
  });
  new Gauge({
    name: 'trellis_nodes',
    help: 'Nodes in the network map',
    registers,
    collect() {
      this.set(sample.nodes());
    },
  });
  new Gauge({
    name: 'trellis_map_queue_pending',
    help: 'Map streams with changes not yet sent',
    registers,
    collect() {
      this.set(sample.queues().pending);
    },
  });
  new Gauge({
    name: 'trellis_map_queue_bytes',
    help: 'Bytes queued in map stream sockets',
    registers,
    collect() {
      this.set(sample.queues().queuedBytes);
    },
  });
  new Gauge({
    name: 'trellis_route_routers',
    help: 'Routers of each advertised prefix by role (primary, standby, unhealthy, offline, unapproved)',
    labelNames: ['prefix', 'role'],
    registers,
    collect() {
      this.reset();
      for (const p of sample.routes()) {
        for (const role of ROUTE_ROLES) {
          this.set({ prefix: p.prefix, role }, p.routers.filter((r) => r.role === role).length);
        }
      }
    },
  });
  if (sample.relay) addRelayMetrics(registers, sample.relay);
}

function addRelayMetrics(registers: ServerMetrics['registry'][], relay: () => RelayStats): void {
  new Gauge({
    name: 'trellis_relay_sessions',
    help: 'WireGuard sessions between nodes and the server',
    registers,
    collect() {
      this.set(relay().sessions);
    },
  });
  new Gauge({
    name: 'trellis_relay_routes',
    help: 'Receiver-index routes the relay holds',
    registers,
    collect() {
      this.set(relay().routes);
    },
  });
  // Running totals kept by the relay itself, exposed as counters.
  const totals: Array<[keyof RelayStats, string]> = [
    ['handshakes', 'Handshakes completed with the server'],
    ['cookieReplies', 'Cookie replies sent under load'],
    ['forwarded', 'Packets relayed between nodes'],
    ['dropped', 'Packets the relay dropped (policy, rate limits, unknown)'],
    ['stunAnswers', 'STUN Binding requests answered'],
  ];
  for (const [field, help] of totals) {
    let seen = 0;
    new Counter({
      name: `trellis_relay_${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`,
      help,
      registers,
      collect() {
        const now = relay()[field];
        if (now > seen) this.inc(now - seen);
        seen = now;
      },
    });
  }
}
