import type { Logger } from 'pino';
import { StoreUnavailable } from '../store/store.ts';

/** What this replica knows of its database now (the replicas list and /healthz show it). */
export type StoreState =
  | { reachable: true }
  | {
      reachable: false;
      /** Why: the last error seen (a failed ping, or the change log that cannot be read). */
      reason: string;
      /** When the database was last reached (ms). */
      since: number;
    };

interface ReachabilityDeps {
  /** A round trip to the database (`Store.ping`). */
  ping: () => Promise<void>;
  /** The change follower: its error says the log cannot be read; `wake` catches up. */
  follower: { readonly error: Error | undefined; wake(): Promise<void> };
  /** How often the database is pinged; a ping unanswered this long has failed. */
  checkMs: number;
  /** Without a successful contact this long, the replica is cut off (`replica.cutOffMs`). */
  cutOffMs: number;
  now: () => number;
  logger: Logger;
}

/**
 * Whether this replica can still reach its database. A replica that cannot must not go on
 * serving its cache as if it were current, nor take writes it cannot commit: once neither a
 * ping nor the change log has worked for `cutOffMs`, it is **cut off** and its listeners
 * (writes, map streams, readiness) refuse until the database answers again and the change log
 * has been read up to its head, so what it serves afterwards is current again.
 */
export class StoreReachability {
  private lastContact: number;
  private followerFailingSince: number | undefined;
  private lastError = '';
  private cut: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private readonly listeners = new Set<(state: StoreState) => void>();

  constructor(private readonly deps: ReachabilityDeps) {
    this.lastContact = deps.now();
  }

  get state(): StoreState {
    return this.cut === undefined
      ? { reachable: true }
      : { reachable: false, reason: this.lastError, since: this.lastContact };
  }

  get reachable(): boolean {
    return this.cut === undefined;
  }

  /** Called with the new state each time the replica is cut off or comes back. */
  onChange(listener: (state: StoreState) => void): void {
    this.listeners.add(listener);
  }

  /** The refusal a write or a new stream gets while cut off (503 `store.unavailable`); undefined when reachable. */
  refusal(): StoreUnavailable | undefined {
    const s = this.state;
    if (s.reachable) return undefined;
    const ago = Math.round((this.deps.now() - s.since) / 1000);
    return new StoreUnavailable(
      `this replica has not reached the database for ${ago} s (${s.reason}); it takes no writes until the database is back: try another replica or again shortly`,
    );
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.deps.checkMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  /** One check now (the timer's; tests call it to step). */
  check(): Promise<void> {
    this.checking ??= this.run().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async run(): Promise<void> {
    const now = this.deps.now();
    const pinged = await this.pingOnce();
    const followerError = this.deps.follower.error;
    if (followerError) {
      this.followerFailingSince ??= now;
      this.lastError = `change log: ${followerError.message}`;
    } else this.followerFailingSince = undefined;
    if (pinged === true) {
      if (!followerError) this.lastContact = this.deps.now();
    } else this.lastError = pinged;
    const silentFor = this.deps.now() - this.lastContact;
    const followerStuck =
      this.followerFailingSince !== undefined && now - this.followerFailingSince >= this.deps.cutOffMs;
    if (this.cut === undefined) {
      if (silentFor >= this.deps.cutOffMs || followerStuck) this.cutOff();
      return;
    }
    if (pinged !== true) return;
    // Back: serve again only once what was missed has been applied.
    await this.deps.follower.wake();
    if (this.deps.follower.error) return;
    this.lastContact = this.deps.now();
    this.followerFailingSince = undefined;
    this.cut = undefined;
    this.deps.logger.info('the database is reachable again and the change log caught up; serving again');
    this.emit();
  }

  private cutOff(): void {
    this.cut = this.deps.now();
    this.deps.logger.error(
      { reason: this.lastError, lastContact: this.lastContact },
      'cut off from the database: refusing writes and map streams until it is back',
    );
    this.emit();
  }

  private emit(): void {
    const state = this.state;
    for (const l of this.listeners) {
      try {
        l(state);
      } catch (err) {
        this.deps.logger.error({ err }, 'store reachability listener failed');
      }
    }
  }

  /** True, or why the ping failed (an unanswered one fails after `checkMs`). */
  private async pingOnce(): Promise<true | string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${this.deps.checkMs} ms`), this.deps.checkMs);
    });
    try {
      return await Promise.race([
        this.deps.ping().then(
          () => true as const,
          (err: unknown) => messageOf(err),
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function messageOf(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  const inner = cause instanceof Error ? `: ${cause.message}` : '';
  return `${err instanceof Error ? err.message : String(err)}${inner}`;
}
