/**
 * Exponential backoff with full jitter: the n-th wait is uniform in [0, min(max, base * 2^n)].
 * A fleet that lost its server spreads its returns over the whole window instead of coming
 * back in waves (a wave is what makes the next attempt fail too), and the first retry comes
 * within `baseMs`.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 250,
    private readonly maxMs = 30_000,
    private readonly random = Math.random,
  ) {}

  next(): number {
    const cap = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(this.random() * cap);
  }

  reset(): void {
    this.attempt = 0;
  }
}
