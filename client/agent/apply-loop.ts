/**
 * Runs `apply` on the latest submitted value, one at a time: values that arrive while an apply
 * runs are coalesced into the newest (a burst of map deltas costs one reconfiguration). A
 * failed apply is retried after `retryMs` unless a newer value came meanwhile.
 */
export class ApplyLoop<T> {
  private pending: { value: T } | undefined;
  private last: { value: T } | undefined;
  private running = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly apply: (value: T) => Promise<void>,
    private readonly onError: (error: unknown) => void,
    private readonly retryMs = 2_000,
  ) {}

  submit(value: T): void {
    this.stopped = false;
    this.pending = { value };
    clearTimeout(this.retryTimer);
    void this.drain();
  }

  /** Applies the latest value again (something it depends on changed), unless a newer one is pending. */
  again(): void {
    if (!this.pending && this.last && !this.stopped) this.submit(this.last.value);
  }

  /** Drops what is pending; the apply in progress (if any) finishes. */
  stop(): void {
    this.stopped = true;
    this.pending = undefined;
    clearTimeout(this.retryTimer);
  }

  /** Resolves once nothing is pending or running. */
  async idle(): Promise<void> {
    while (this.running || this.pending) await new Promise((r) => setTimeout(r, 10));
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending && !this.stopped) {
        const { value } = this.pending;
        this.last = this.pending;
        this.pending = undefined;
        try {
          await this.apply(value);
        } catch (err) {
          this.onError(err);
          if (!this.pending && !this.stopped) {
            this.retryTimer = setTimeout(() => this.submit(value), this.retryMs);
            this.retryTimer.unref();
          }
        }
      }
    } finally {
      this.running = false;
    }
  }
}
