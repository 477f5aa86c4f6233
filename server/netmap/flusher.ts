/**
 * Sends pending map changes in batches. Sessions that changed wait here for a short window, so
 * a burst of changes (a policy update, a wave of reconnects) becomes one message per session;
 * a session whose socket is still full stays for the next round instead of blocking the rest.
 */
export interface Flushable {
  /** Sends what is pending; false when the socket cannot take it yet. */
  flush(): boolean;
}

export class Flusher {
  private readonly dirty = new Set<Flushable>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly batchMs: number,
    private readonly retryMs = 20,
  ) {}

  add(session: Flushable): void {
    this.dirty.add(session);
    this.timer ??= setTimeout(() => this.run(), this.batchMs);
  }

  delete(session: Flushable): void {
    this.dirty.delete(session);
  }

  get size(): number {
    return this.dirty.size;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.dirty.clear();
  }

  private run(): void {
    this.timer = undefined;
    const batch = [...this.dirty];
    this.dirty.clear();
    const blocked = batch.filter((s) => !s.flush());
    if (blocked.length === 0) return;
    for (const s of blocked) this.dirty.add(s);
    this.timer ??= setTimeout(() => this.run(), this.retryMs);
  }
}
