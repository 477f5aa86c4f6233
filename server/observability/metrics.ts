import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The server's Prometheus registry (one per server, so several can run in one process: tests)
 * and the instruments parts report into. Values read from the parts when scraped are added by
 * addSampledMetrics.
 */
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

  readonly primaryChanges = new Counter({
    name: 'trellis_route_primary_changes_total',
    help: 'Changes of a subnet prefix primary router (elections, failovers, losses)',
    labelNames: ['prefix', 'outcome'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  countMapSend(kind: 'full' | 'delta', bytes: number): void {
    this.mapSends.inc({ kind });
    this.mapBytes.inc({ kind }, bytes);
  }
}
