/** One applied change-log row, as the journal keeps it (kind and entity id, as the log names them). */
export interface JournalEntry {
  seq: number;
  at: number;
  kind: string;
  id: string;
}

/**
 * Kinds whose changes touch only the named node in other nodes' maps: its record, or which
 * replica holds its stream and what that replica observed. Any other kind that reaches a map
 * (a policy, a user's groups) may change whole views, which only a full map brings up to date.
 */
const NODE_KINDS: ReadonlySet<string> = new Set(['node', 'presence']);
/**
 * Kinds no resume needs to name: no map shows them (a CA), or they show only in the routers'
 * entries (a prefix's stored primary), which every resume sends again anyway (session.ts).
 */
const UNNAMED_KINDS: ReadonlySet<string> = new Set(['authority', 'route']);

/** Whether a change of this kind may move whole views: after one, only a full map resumes an older map. */
export const movesViews = (kind: string): boolean => !NODE_KINDS.has(kind) && !UNNAMED_KINDS.has(kind);

/**
 * The change-log rows this replica applied lately, so that it can resume an agent another
 * replica served: a map that reflects every change up to seq S differs from what this replica
 * would send now only in the nodes changed after S. The journal answers with those nodes, or
 * with nothing when it cannot tell (S before what it holds, or a change of a kind that may
 * change whole views): then the agent gets a full map.
 */
export class ChangeJournal {
  private entries: JournalEntry[] = [];
  private start = 0;
  /** Every change after this seq is in `entries`; none before it can be vouched for. */
  private floor: number;
  /** The last seq noted: a map said to reflect a later one reflects changes this replica has yet to apply. */
  private last: number;

  constructor(
    floor: number,
    private readonly keepMs: number,
    private readonly maxEntries = 200_000,
  ) {
    this.floor = floor;
    this.last = floor;
  }

  /** The rows of a batch just applied, in seq order. */
  note(changes: readonly JournalEntry[], now: number): void {
    for (const c of changes) {
      this.entries.push({ seq: c.seq, at: c.at, kind: c.kind, id: c.id });
      if (c.seq > this.last) this.last = c.seq;
    }
    this.prune(now);
  }

  /** Everything was reloaded from the database: nothing before `seq` (the head then) can be told apart. */
  reset(seq: number): void {
    this.entries = [];
    this.start = 0;
    this.floor = Math.max(this.floor, seq);
    this.last = Math.max(this.last, this.floor);
  }

  /**
   * The nodes changed after `seq`, or undefined when the journal cannot vouch for the map at
   * `seq`: it starts later, a change since may have moved whole views, or `seq` is past the
   * last change noted here (that map holds changes this replica has not applied: resuming it
   * from this replica's view would take them away again).
   */
  touchedSince(seq: number): ReadonlySet<string> | undefined {
    // Equal to the floor is not enough: that map may be older than this process, whose soft
    // state (who is online, observed endpoints) was rebuilt at its start, not from the log.
    if (seq <= this.floor || seq > this.last) return undefined;
    const touched = new Set<string>();
    for (let i = this.entries.length - 1; i >= this.start; i--) {
      const e = this.entries[i]!;
      if (e.seq <= seq) break;
      if (movesViews(e.kind)) return undefined;
      if (NODE_KINDS.has(e.kind)) touched.add(e.id);
    }
    return touched;
  }

  private prune(now: number): void {
    let i = this.start;
    while (
      i < this.entries.length &&
      (this.entries.length - i > this.maxEntries || this.entries[i]!.at < now - this.keepMs)
    )
      this.floor = this.entries[i++]!.seq;
    this.start = i;
    // Compact once the dropped head outweighs what is kept.
    if (this.start > 1_024 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start);
      this.start = 0;
    }
  }
}
