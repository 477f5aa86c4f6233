import type { Logger } from 'pino';
import type { NetmapEngine } from '../netmap/engine.ts';
import type { PresenceRepository } from '../store/store.ts';
import type { PresenceWriter } from './presence-writer.ts';

interface RenewerDeps {
  presence: Pick<PresenceRepository, 'renewLeases' | 'get'>;
  engine: Pick<NetmapEngine, 'streamIds' | 'isRouter' | 'hasStream'>;
  writer: Pick<PresenceWriter, 'rewrite' | 'isPending'>;
  selfId: string;
  /** `replica.routerLeaseMs`: each renewal leases the rows this long from the database's now. */
  leaseMs: number;
  /** How often: a third of the lease, so two renewals may fail before it lapses. */
  everyMs: number;
  logger: Logger;
}

/**
 * Renews the presence leases of the routers (nodes that advertise routes) whose streams this
 * replica holds, in one statement per tick; other nodes' rows carry no lease and cost nothing.
 * The leader takes a router whose lease lapsed for down (server/routes/lease-watch.ts): so
 * this replica vouches for a router only while it both holds the stream and reaches the
 * database. A router row that is gone (removed while this replica was taken for dead) is
 * written again; one another replica holds now is left alone: the router reconnected there,
 * and this replica's stream of it is about to be found silent.
 */
export class RouterLeaseRenewer {
  private timer?: NodeJS.Timeout;
  private renewing = false;
  private failing = false;

  constructor(private readonly deps: RenewerDeps) {}

  start(): void {
    this.timer ??= setInterval(() => void this.renew(), this.deps.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One renewal of every router row this replica holds; never rejects. */
  async renew(): Promise<void> {
    if (this.renewing) return;
    const { presence, engine, writer, selfId, leaseMs, logger } = this.deps;
    const routers = engine.streamIds().filter((id) => engine.isRouter(id));
    if (routers.length === 0) return;
    this.renewing = true;
    try {
      const renewed = new Set(await presence.renewLeases(selfId, routers, leaseMs));
      if (this.failing) logger.info({ routers: routers.length }, 'router leases renewed again');
      this.failing = false;
      // A row still on its way (pending) is leased as it is written.
      const missing = routers.filter((id) => !renewed.has(id) && !writer.isPending(id));
      for (const id of missing) {
        if (engine.hasStream(id) && !(await presence.get(id))) writer.rewrite(id);
      }
    } catch (err) {
      if (!this.failing) logger.warn({ err }, 'router leases not renewed; the leader moves their routes if this lasts');
      this.failing = true;
    } finally {
      this.renewing = false;
    }
  }
}
