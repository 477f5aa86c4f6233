/**
 * Liveness of one map stream. The server pings every interval; a stream that has sent nothing
 * for three intervals is declared dead, since a TCP connection to a vanished machine can stay
 * "open" for many minutes and would keep the node online in every peer's map. The interval is
 * read at every beat: a router's stream beats fast (`routes.heartbeatMs`) so that a router whose
 * host died or whose uplink was cut loses its prefixes within about three of those.
 */
export class Heartbeat {
  private lastHeard: number;
  private timer?: NodeJS.Timeout;
  private running = false;
  private interval = 0;
  private dueAt = 0;

  constructor(
    private readonly intervalMs: () => number,
    private readonly now: () => number,
    private readonly on: { ping(): void; dead(): void },
  ) {
    this.lastHeard = now();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.interval = this.intervalMs();
    this.schedule();
  }

  /** The peer sent something: it is alive. */
  heard(): void {
    this.lastHeard = this.now();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.dueAt = this.now() + this.interval;
    this.timer = setTimeout(() => this.beat(), this.interval);
  }

  private beat(): void {
    if (!this.running) return;
    const interval = this.intervalMs();
    // A new interval (the node became a router) starts a fresh window: it answered the old pace.
    if (interval !== this.interval) this.lastHeard = Math.max(this.lastHeard, this.now());
    this.interval = interval;
    // A beat that fires an interval or more late means this process stalled (a GC pause, a busy
    // loop): what the peer sent meanwhile is still unread, so its silence is not judged now.
    const stalled = this.now() - this.dueAt > interval;
    if (!stalled && this.silent(interval)) {
      // Timers run before sockets are read in each turn of the event loop: on a slow (busy,
      // descheduled) process the answer may be waiting unread. setImmediate runs after the
      // reads, so the verdict is given on what actually arrived.
      setImmediate(() => {
        if (!this.running) return;
        if (this.silent(interval)) {
          this.running = false;
          this.on.dead();
        } else this.next();
      });
      return;
    }
    this.next();
  }

  private silent(interval: number): boolean {
    return this.now() - this.lastHeard > 3 * interval;
  }

  private next(): void {
    this.on.ping();
    this.schedule();
  }
}
