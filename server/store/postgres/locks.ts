/**
 * PostgreSQL advisory locks Trellis takes, as (class, key) pairs: the class keeps them apart
 * from any other application's on a shared database. One list, so no two uses collide.
 */
const TRELLIS = 0x7472; // "tr"

export const LOCKS = {
  /** Held while migrating: replicas starting together migrate once. */
  migrate: [TRELLIS, 1],
  /**
   * Taken by each transaction as it writes its change-log row, held to its commit: seqs are then
   * handed out in commit order, so a reader at seq N never later sees a change below N appear.
   */
  changeLog: [TRELLIS, 2],
  /** Leadership for the singleton jobs (server/replication/leadership.ts): held on a session of its own. */
  leader: [TRELLIS, 3],
} as const satisfies Record<string, readonly [number, number]>;
