import { ChangeJournal, type JournalEntry } from './change-journal.ts';

/**
 * Where this replica's maps stand in the change log: the last seq they reflect exactly (every
 * change up to it applied), which every message names, and the journal of the rows applied
 * lately, which a resume from another replica looks at. Undefined seq: there is no log.
 *
 * Two ways forward. The follower applies a batch read from the log (`applied`). And a change
 * this replica wrote itself is applied at once, before the follower reads it back: once every
 * change before it is applied too, the maps reflect its seq exactly (`ownWrite`), so the deltas
 * it causes can say so. Otherwise an agent whose replica dies before reading it back holds a
 * map newer than its seq, which another replica can only replace with a full map.
 */
export class AppliedSeq {
  private seq: number | undefined;
  readonly journal: ChangeJournal;
  /** Own writes, applied, that `seq` has not reached: by seq. */
  private readonly ownWrites = new Map<number, JournalEntry>();
  /** Those waiting for the maps to reach a seq (an agent's map already reflects it). */
  private waiters: Array<{ seq: number; done: () => void }> = [];

  constructor(
    start: number | undefined,
    keepMs: number,
    private readonly now: () => number,
    /** The maps now reflect `seq`; `changes` took them there. */
    private readonly onAdvance: (seq: number, changes: readonly JournalEntry[]) => void,
  ) {
    this.seq = start;
    this.journal = new ChangeJournal(start ?? Number.MAX_SAFE_INTEGER, keepMs);
  }

  get current(): number | undefined {
    return this.seq;
  }

  /** A batch of change-log rows was applied; `seq` is the last one. */
  applied(changes: readonly JournalEntry[], seq: number): void {
    this.journal.note(changes, this.now());
    this.advanceTo(seq, changes);
  }

  /** Everything was reloaded as of the log's `head`: no earlier map can be resumed from here. */
  reloaded(head: number): void {
    this.journal.reset(head);
    this.advanceTo(head, []);
  }

  /** This replica wrote a change logged at `seq` and has applied it. */
  ownWrite(kind: string, id: string, seq: number): void {
    if (this.seq === undefined || seq <= this.seq) return;
    this.ownWrites.set(seq, { seq, at: this.now(), kind, id });
    this.advanceOverOwnWrites();
  }

  /**
   * Resolves when the maps reflect `seq` (or after `timeoutMs`); undefined when they already do,
   * or there is no log.
   */
  reached(seq: number, timeoutMs: number): Promise<void> | undefined {
    if (this.seq === undefined || seq <= this.seq) return undefined;
    return new Promise((resolve) => {
      const waiter = {
        seq,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve();
      }, timeoutMs);
      timer.unref();
      this.waiters.push(waiter);
    });
  }

  private advanceTo(seq: number, changes: readonly JournalEntry[]): void {
    this.seq = Math.max(this.seq ?? 0, seq);
    this.onAdvance(this.seq, changes);
    this.advanceOverOwnWrites();
    this.wake();
  }

  /** Over own writes that directly follow the seq; a gap (a change not applied yet, a rolled-back seq) stops it. */
  private advanceOverOwnWrites(): void {
    if (this.seq === undefined || this.ownWrites.size === 0) return;
    const run: JournalEntry[] = [];
    for (let next = this.ownWrites.get(this.seq + 1); next; next = this.ownWrites.get(next.seq + 1)) run.push(next);
    const upTo = run.length > 0 ? run[run.length - 1]!.seq : this.seq;
    for (const seq of [...this.ownWrites.keys()]) if (seq <= upTo) this.ownWrites.delete(seq);
    if (run.length > 0) this.applied(run, upTo);
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const seq = this.seq ?? 0;
    const due = this.waiters.filter((w) => w.seq <= seq);
    this.waiters = this.waiters.filter((w) => w.seq > seq);
    for (const w of due) w.done();
  }
}
