import type { Logger } from 'pino';
import type { ReplicaRecord } from '../store/records.ts';
import type { ReplicaRepository } from '../store/store.ts';

/** A replica as the directory shows it: its last heartbeat, and whether that is recent enough. */
export interface ReplicaEntry extends ReplicaRecord {
  alive: boolean;
}

interface DirectoryDeps {
  replicas: ReplicaRepository;
  /** This replica's id (`replica.id`). */
  id: string;
  /** This replica's own URL (`replica.advertise`); read at each heartbeat (known once listening). */
  advertise: () => string;
  /** Where the node's map stream is: this replica's id, another's, or undefined when it has none. */
  holderOf: (nodeId: string) => string | undefined;
  /** What this replica reports at each heartbeat. */
  status: () => { appliedSeq: number; connected: number; leading: boolean };
  heartbeatMs: number;
  deadAfterMs: number;
  now: () => number;
  logger: Logger;
}

/**
 * Every running replica, as the replicas table says: this one writes its own row every
 * `replica.heartbeatMs` and reads everyone's at the same time, so lookups (`replica`,
 * `holderOf`) are synchronous and cost nothing per packet. A heartbeat that cannot be written
 * (the database is away) is logged and tried again at the next tick.
 */
export class ReplicaDirectory {
  private readonly startedAt: number;
  private relayAddress: string | undefined;
  private entries = new Map<string, ReplicaRecord>();
  private readonly listeners: Array<(list: readonly ReplicaEntry[]) => void> = [];
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;

  constructor(private readonly deps: DirectoryDeps) {
    this.startedAt = deps.now();
  }

  get id(): string {
    return this.deps.id;
  }

  /** This replica's row as it writes it now. */
  get self(): ReplicaRecord {
    const { appliedSeq, connected, leading } = this.deps.status();
    return {
      id: this.deps.id,
      advertise: this.deps.advertise(),
      ...(this.relayAddress !== undefined && { relayAddress: this.relayAddress }),
      startedAt: this.startedAt,
      heartbeatAt: this.deps.now(),
      appliedSeq,
      connected,
      leading,
    };
  }

  /** The relay link's listening address, announced from the next heartbeat on (server/relay/). */
  setRelayAddress(address: string | undefined): void {
    this.relayAddress = address;
  }

  /** Every replica of the last read, this one included, by id. */
  list(): ReplicaEntry[] {
    const deadBefore = this.deps.now() - this.deps.deadAfterMs;
    const out = [...this.entries.values()].map((r) => ({
      ...r,
      alive: r.id === this.deps.id || r.heartbeatAt > deadBefore,
    }));
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The live replicas other than this one: where the relay link connects to. */
  others(): ReplicaEntry[] {
    return this.list().filter((r) => r.alive && r.id !== this.deps.id);
  }

  replica(id: string): ReplicaEntry | undefined {
    return this.list().find((r) => r.id === id);
  }

  /** The replica holding node `nodeId`'s map stream, if any replica does. */
  holderOf(nodeId: string): ReplicaEntry | undefined {
    const id = this.deps.holderOf(nodeId);
    return id === undefined ? undefined : this.replica(id);
  }

  /** Calls `listener` with the list after every read of the table. */
  onRefresh(listener: (list: readonly ReplicaEntry[]) => void): void {
    this.listeners.push(listener);
  }

  /** Writes this replica's row and reads the others' (once now, then every heartbeat). */
  async start(): Promise<void> {
    await this.beat();
    this.timer ??= setInterval(() => void this.beat(), this.deps.heartbeatMs);
    this.timer.unref();
  }

  /** Stops the heartbeat and takes this replica's row (and its presence) out of the table. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.deps.replicas.remove(this.deps.id).catch((err: unknown) => {
      this.deps.logger.warn({ err }, 'could not remove this replica from the replicas table');
    });
  }

  /** One heartbeat: this replica's row written, everyone's read. Never rejects. */
  beat(): Promise<void> {
    this.beating ??= this.writeAndRead().finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async writeAndRead(): Promise<void> {
    try {
      await this.deps.replicas.heartbeat(this.self);
      const rows = await this.deps.replicas.list();
      this.entries = new Map(rows.map((r) => [r.id, r]));
    } catch (err) {
      this.deps.logger.warn({ err }, 'replica heartbeat failed; trying again at the next one');
      return;
    }
    const list = this.list();
    for (const l of this.listeners) l(list);
  }
}
