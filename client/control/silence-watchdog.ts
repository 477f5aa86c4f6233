import type WebSocket from 'ws';

/**
 * A half-open connection looks alive forever: only hearing from the other side (its pings, its
 * messages) proves it is not. Terminates the socket after `limitMs` of silence.
 */
export class SilenceWatchdog {
  private lastHeard = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly limitMs: number) {}

  watch(ws: WebSocket): void {
    this.heard();
    clearInterval(this.timer);
    this.timer = setInterval(
      () => {
        if (Date.now() - this.lastHeard > this.limitMs) ws.terminate();
      },
      Math.min(this.limitMs, 5_000),
    );
    this.timer.unref();
  }

  heard(): void {
    this.lastHeard = Date.now();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
