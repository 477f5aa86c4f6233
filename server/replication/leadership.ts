import type { Logger } from 'pino';
import pg from 'pg';
import { LOCKS } from '../store/postgres/locks.ts';

/** Whether this replica runs the singleton jobs now, and who to tell when that changes. */
export interface Leadership {
  readonly isLeader: boolean;
  /** Called with true when this replica becomes the leader, false when it stops being it. */
  onChange(listener: (leader: boolean) => void): void;
  start(): void;
  stop(): Promise<void>;
}

/** On SQLite there is one process: it is always the leader. */
export class SoleLeader implements Leadership {
  private readonly listeners: Array<(leader: boolean) => void> = [];
  private leading = false;

  get isLeader(): boolean {
    return this.leading;
  }
  onChange(listener: (leader: boolean) => void): void {
    this.listeners.push(listener);
  }
  start(): void {
    this.leading = true;
    for (const l of this.listeners) l(true);
  }
  async stop(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    for (const l of this.listeners) l(false);
  }
}

interface AdvisoryLockOptions {
  /** How to open the dedicated connection (the store's URL and TLS settings). */
  connection: pg.ClientConfig;
  /** How often a follower tries to take the lock, and a leader checks its connection. */
  checkMs: number;
  /** A check unanswered this long: the connection is taken for dead and leadership given up. */
  timeoutMs: number;
  logger: Logger;
}

/**
 * Leadership by `pg_advisory_lock` on a connection of its own (not the pool's): PostgreSQL
 * holds a session lock exactly as long as the session, so when the leader dies, or its
 * connection does, the lock is free and the next replica to try takes it. A follower tries
 * every `checkMs`; a leader checks its connection as often, and gives up leading the moment a
 * check fails or goes unanswered for `timeoutMs`, before the server has noticed, so two
 * replicas never both believe they lead for longer than that. The session asks the server for
 * TCP keepalives, so a leader cut off without a word loses the lock within seconds.
 */
export class AdvisoryLockLeadership implements Leadership {
  private readonly listeners: Array<(leader: boolean) => void> = [];
  private client?: pg.Client;
  private leading = false;
  private timer?: NodeJS.Timeout;
  private checking = false;
  private stopped = false;

  constructor(private readonly options: AdvisoryLockOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  onChange(listener: (leader: boolean) => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.check(), this.options.checkMs);
    this.timer.unref();
    void this.check();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.setLeading(false);
    const client = this.client;
    this.client = undefined;
    // Ending the session releases the lock at once; the next replica takes it at its next try.
    await client?.end().catch(() => {});
  }

  /** One round: connect if needed, then take the lock (follower) or prove the session lives (leader). */
  private async check(): Promise<void> {
    if (this.checking || this.stopped) return;
    this.checking = true;
    try {
      const client = this.client ?? (await this.connect());
      const query = this.leading
        ? client.query('SELECT 1')
        : client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS locked', [
            ...LOCKS.leader,
          ]);
      const result = await withTimeout(query, this.options.timeoutMs);
      if (!this.leading && (result.rows[0] as { locked?: boolean } | undefined)?.locked === true) this.setLeading(true);
    } catch (err) {
      if (this.leading) this.options.logger.warn({ err }, 'leadership lost: the lock connection failed');
      else this.options.logger.debug({ err }, 'leadership check failed');
      this.drop();
    } finally {
      this.checking = false;
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ ...this.options.connection, keepAlive: true });
    // A dead connection must cost the lock: the server drops it after ~4 s without an answer.
    client.on('error', (err) => {
      this.options.logger.warn({ err }, 'leadership connection error');
      if (this.client === client) this.drop();
    });
    client.on('end', () => {
      if (this.client === client) this.drop();
    });
    this.client = client;
    try {
      await withTimeout(client.connect(), this.options.timeoutMs);
      await client.query(
        "SET tcp_keepalives_idle = 2; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 2; SET application_name = 'trellis-leadership'",
      );
    } catch (err) {
      this.drop();
      throw err;
    }
    return client;
  }

  /** The session is gone or doubtful: not leading, and the next round starts with a new one. */
  private drop(): void {
    this.setLeading(false);
    const client = this.client;
    this.client = undefined;
    void client?.end().catch(() => {});
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.options.logger.info({ leader: leading }, leading ? 'this replica leads' : 'this replica no longer leads');
    for (const l of this.listeners) l(leading);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
