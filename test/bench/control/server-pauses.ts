/**
 * What stalled a server's event loop over a phase, from its own /metrics (prom-client's default
 * metrics): the longest event-loop delay (its maximum resets at every scrape, so a scrape at the
 * start of the phase begins the window) and the time spent in major garbage collections. A
 * propagation tail with a long delay here is the server's own pause, not the network's.
 */
export interface Pauses {
  /** Presence rows the server had yet to write when the window began (replicas). */
  presenceBacklog: number;
  maxDelayMs: number;
  majorGcs: number;
  majorGcMs: number;
}

interface Reading {
  presenceBacklog: number;
  lagMaxSeconds: number;
  majorCount: number;
  majorSeconds: number;
}

async function read(url: string): Promise<Reading> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
  return {
    presenceBacklog: value(/^trellis_presence_backlog (\S+)$/m),
    lagMaxSeconds: value(/^nodejs_eventloop_lag_max_seconds (\S+)$/m),
    majorCount: value(/^nodejs_gc_duration_seconds_count\{kind="major"\} (\S+)$/m),
    majorSeconds: value(/^nodejs_gc_duration_seconds_sum\{kind="major"\} (\S+)$/m),
  };
}

/** Starts the window on every server; the returned function ends it and reads each one's pauses. */
export async function watchPauses(urls: readonly string[]): Promise<() => Promise<Pauses[]>> {
  const start = await Promise.all(urls.map(read));
  return async () => {
    const end = await Promise.all(urls.map(read));
    return end.map((e, i) => ({
      presenceBacklog: start[i]!.presenceBacklog,
      maxDelayMs: e.lagMaxSeconds * 1000,
      majorGcs: (e.majorCount || 0) - (start[i]!.majorCount || 0),
      majorGcMs: ((e.majorSeconds || 0) - (start[i]!.majorSeconds || 0)) * 1000,
    }));
  };
}
