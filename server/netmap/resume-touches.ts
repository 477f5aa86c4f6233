/**
 * How long a change this replica made to what its own streams show (a node came online here,
 * its relay saw a new endpoint) may take to reach the other replicas: its presence row is
 * written, logged, and applied by them. A map another replica sent may lack such a change
 * without any change-log row after its seq saying so.
 */
const PRESENCE_LAG_MS = 30_000;

/** What a resume from another replica's map must send again. */
export interface ResumeTouches {
  /** Whether that map may show this node otherwise than this replica's view does: sent again if visible. */
  has(id: string): boolean;
  /**
   * The nodes that map may show and this view may lack, sent as removed unless visible here:
   * only those the log names or that expired, since who a node sees never follows presence.
   */
  removable(): Iterable<string>;
}

/**
 * The nodes a resume of node `self` from another replica must send again (as peers, or as
 * removed): those the change log names after the agent's seq (`logged`, undefined when the
 * journal cannot tell), those whose presence this replica changed lately, and those that
 * expired lately (each replica takes them out on its own, without a row). Undefined: only a
 * full map will do, as when `self`'s own identity (tags, owner) changed lately: what it may see
 * follows from it, so any peer may differ, not only the ones the log names.
 *
 * Asked node by node rather than listed: in a failover thousands of nodes came online here
 * lately, and each of thousands of resumes needs only its own hundred-odd peers looked up.
 */
export function resumeTouches(
  self: string,
  logged: ReadonlySet<string> | undefined,
  recent: {
    localChangeAt: ReadonlyMap<string, number>;
    expiredAt: ReadonlyMap<string, number>;
    identityChangedAt: ReadonlyMap<string, number>;
    now: number;
    windowMs: number;
  },
): ResumeTouches | undefined {
  if (!logged) return undefined;
  const { localChangeAt, expiredAt, identityChangedAt, now, windowMs } = recent;
  const changed = identityChangedAt.get(self);
  if (changed !== undefined && changed > now - windowMs) return undefined;
  const expiredLately = (id: string) => (expiredAt.get(id) ?? -Infinity) > now - windowMs;
  return {
    has: (id) => logged.has(id) || (localChangeAt.get(id) ?? -Infinity) > now - PRESENCE_LAG_MS || expiredLately(id),
    *removable() {
      yield* logged;
      for (const id of expiredAt.keys()) if (expiredLately(id) && !logged.has(id)) yield id;
    },
  };
}
