import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface RelayStats {
  sessions: number;
  routes: number;
  handshakes: number;
  cookieReplies: number;
  forwarded: number;
  dropped: number;
  /** STUN Binding requests answered, on the relay port and the STUN port. */
  stunAnswers: number;
}

/** Prometheus metrics, one registry per server so several can run in one process (tests). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly mapSends = new Counter({
    name: 'trellis_map_sends_total',
    help: 'Map messages sent',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly mapBytes = new Counter({
    name: 'trellis_map_bytes_total',
    help: 'Map bytes sent',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly joinSeconds = new Histogram({
    name: 'trellis_join_duration_seconds',
    help: 'Time to register a node',
    registers: [this.registry],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  readonly requests = new Counter({
    name: 'trellis_http_requests_total',
    help: 'HTTP requests',
    labelNames: ['status'],
    registers: [this.registry],
  });

  constructor(sample: {
    connected: () => number;
    nodes: () => number;
    queues: () => { pending: number; queuedBytes: number };
    /** The UDP reflector and relay's running totals; absent when it is disabled. */
    relay?: () => RelayStats;
  }) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'trellis_connected_nodes',
      help: 'Nodes with an open map stream',
      registers: [this.registry],
      collect() {
        this.set(sample.connected());
      },
    });
    new Gauge({
      name: 'trellis_nodes',
      help: 'Nodes in the network map',
      registers: [this.registry],
      collect() {
        this.set(sample.nodes());
      },
    });
    new Gauge({
      name: 'trellis_map_queue_pending',
      help: 'Map streams with changes not yet sent',
      registers: [this.registry],
      collect() {
        this.set(sample.queues().pending);
      },
    });
    new Gauge({
      name: 'trellis_map_queue_bytes',
      help: 'Bytes queued in map stream sockets',
      registers: [this.registry],
      collect() {
        this.set(sample.queues().queuedBytes);
      },
    });
    const relay = sample.relay;
    if (!relay) return;
    new Gauge({
      name: 'trellis_relay_sessions',
      help: 'WireGuard sessions between nodes and the server',
      registers: [this.registry],
      collect() {
        this.set(relay().sessions);
      },
    });
    new Gauge({
      name: 'trellis_relay_routes',
      help: 'Receiver-index routes the relay holds',
      registers: [this.registry],
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
        registers: [this.registry],
        collect() {
          const now = relay()[field];
          if (now > seen) this.inc(now - seen);
          seen = now;
        },
      });
    }
  }
}
