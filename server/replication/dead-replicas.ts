import type { Logger } from 'pino';
import type { ReplicaRepository } from '../store/store.ts';
import type { ReplicaDirectory } from './replica-directory.ts';

/**
 * On the leader: a replica whose heartbeat stopped (killed, cut off) is taken out of the
 * replicas table with the presence it held, so its nodes show offline everywhere until they
 * reconnect to another replica, where they come online again. Checked at every heartbeat.
 */
export class DeadReplicaReaper {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly directory: ReplicaDirectory,
    private readonly replicas: ReplicaRepository,
    private readonly everyMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.reap(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Removes every replica the directory finds dead; never rejects. */
  async reap(): Promise<string[]> {
    const dead = this.directory.list().filter((r) => !r.alive);
    const gone: string[] = [];
    for (const r of dead) {
      try {
        if (await this.replicas.remove(r.id)) gone.push(r.id);
        this.logger.warn(
          { replica: r.id, lastHeartbeat: new Date(r.heartbeatAt).toISOString() },
          'replica stopped its heartbeat; its nodes are offline until they reconnect elsewhere',
        );
      } catch (err) {
        this.logger.warn({ err, replica: r.id }, 'could not remove a dead replica; trying at the next heartbeat');
      }
    }
    if (gone.length > 0) await this.directory.beat();
    return gone;
  }
}
