/**
 * Liveness of one map stream. The server pings every interval; a stream that has sent nothing
 * for three intervals is declared dead, since a TCP connection to a vanished machine can stay
 * "open" for many minutes and would keep the node online in every peer's map.
 */
export class Heartbeat {
  private lastHeard: number;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
    private readonly on: { ping(): void; dead(): void },
  ) {
    this.lastHeard = now();
  }

  start(): void {
    this.timer ??= setInterval(() => this.beat(), this.intervalMs);
  }

  /** The peer sent something: it is alive. */
  heard(): void {
    this.lastHeard = this.now();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    if (this.now() - this.lastHeard > 3 * this.intervalMs) this.on.dead();
    else this.on.ping();
  }
}
