import { fork, type ChildProcess } from 'node:child_process';
import { cpuSeconds } from '../support/stats.ts';

/** Commands to a simulator process (sim-worker.ts). */
export type FleetCommand =
  | { op: 'init'; nodes: Array<[index: number, team: number]>; servers: string[] }
  /** Registers (over HTTP) the nodes with an index below `below`. */
  | { op: 'register'; keys: string[]; below: number; parallel: number }
  /** Opens the streams of the nodes with an index below `below`. */
  | { op: 'connect'; below: number; parallel: number; floorUrl?: string }
  | { op: 'watch'; keys: string[] }
  | { op: 'close' };

/** What a simulator process reports: answers, and batches of what its nodes saw (epoch ms). */
export type FleetReport =
  | { op: 'ready' }
  | { op: 'done'; id: number; result?: unknown; error?: string }
  | {
      op: 'events';
      fulls: Array<[index: number, at: number, bytes: number, relayPort: number]>;
      upserts: Array<[wireguardKey: string, at: number, index: number]>;
      filters: Array<[index: number, at: number, bytes: number]>;
      remapped: Array<[index: number, at: number, resumed: boolean, relayPort: number]>;
      sample?: string;
    };

export type FleetEvents = Extract<FleetReport, { op: 'events' }>;

/**
 * The simulated nodes, spread over child processes: node i lives in process i % workers. The
 * benchmark talks to the fleet as to one simulator; each call runs in every process at once.
 */
export class Fleet {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (results: unknown[]) => void; reject: (e: Error) => void; left: number; results: unknown[] }
  >();

  private constructor(
    private readonly procs: ChildProcess[],
    private readonly onEvents: (e: FleetEvents) => void,
  ) {
    procs.forEach((p, w) => p.on('message', (m: FleetReport) => this.receive(w, m)));
  }

  static async start(workers: number, onEvents: (e: FleetEvents) => void): Promise<Fleet> {
    const script = new URL('./sim-worker.ts', import.meta.url).pathname;
    const procs = Array.from({ length: workers }, () =>
      fork(script, [], {
        execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve, reject) => {
            p.once('message', () => resolve());
            p.once('exit', (code) => reject(new Error(`a simulator process exited with ${code}`)));
          }),
      ),
    );
    return new Fleet(procs, onEvents);
  }

  get size(): number {
    return this.procs.length;
  }

  /** Creates the nodes (node i in process i % size); resolves with every node's keys, by index. */
  async init(teams: number[], servers: string[]): Promise<Array<{ wireguardKey: string; machineKey: string }>> {
    const slices = this.procs.map((_, w) =>
      teams.flatMap((team, index) => (index % this.procs.length === w ? [[index, team] as [number, number]] : [])),
    );
    const keys = (await this.each((w) => ({ op: 'init', nodes: slices[w]!, servers }))) as Array<
      Array<[string, string]>
    >;
    const byIndex: Array<{ wireguardKey: string; machineKey: string }> = [];
    slices.forEach((slice, w) =>
      slice.forEach(([index], i) => {
        const [wireguardKey, machineKey] = keys[w]![i]!;
        byIndex[index] = { wireguardKey, machineKey };
      }),
    );
    return byIndex;
  }

  /** `parallel` is the total in flight, shared among the processes. Resolves with the retries. */
  async register(keys: string[], below: number, parallel: number): Promise<number> {
    return sum(await this.each(() => ({ op: 'register', keys, below, parallel: Math.ceil(parallel / this.size) })));
  }

  /** Resolves with the number of streams opened, once each has its first map. */
  async connect(options: { below: number; parallel: number; floorUrl?: string }): Promise<number> {
    return sum(
      await this.each(() => ({ op: 'connect', ...options, parallel: Math.ceil(options.parallel / this.size) })),
    );
  }

  /** The WireGuard keys whose arrival as a peer the processes report. */
  async watch(keys: string[]): Promise<void> {
    await this.each(() => ({ op: 'watch', keys }));
  }

  async close(): Promise<void> {
    await this.each(() => ({ op: 'close' }));
  }

  /** CPU seconds the simulator processes used so far. */
  cpuSeconds(): number {
    return this.procs.reduce((total, p) => total + cpuSeconds(p.pid!), 0);
  }

  stop(): void {
    for (const p of this.procs) p.kill('SIGKILL');
  }

  private each(cmd: (worker: number) => FleetCommand): Promise<unknown[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, left: this.procs.length, results: [] });
      this.procs.forEach((p, w) => p.send({ id, cmd: cmd(w) }));
    });
  }

  private receive(worker: number, m: FleetReport): void {
    if (m.op === 'events') this.onEvents(m);
    if (m.op !== 'done') return;
    const entry = this.pending.get(m.id);
    if (!entry) return;
    if (m.error) {
      this.pending.delete(m.id);
      entry.reject(new Error(m.error));
      return;
    }
    entry.results[worker] = m.result;
    if (--entry.left > 0) return;
    this.pending.delete(m.id);
    entry.resolve(entry.results);
  }
}

const sum = (values: unknown[]) => values.reduce((a: number, b) => a + (b as number), 0);
