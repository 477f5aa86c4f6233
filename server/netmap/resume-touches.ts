/**
 * How long a change this replica made to what its own streams show (a node came online here,
 * its relay saw a new endpoint) may take to reach the other replicas: its presence row is
 * written, logged, and applied by them. A map another replica sent may lack such a change
 * without any change-log row after its seq saying so.
 */
const PRESENCE_LAG_MS = 30_000;

/**
 * The nodes a resume from another replica must send again (as peers, or as removed): those the
 * change log names after the agent's seq (`logged`, undefined when the journal cannot tell),
 * those whose presence this replica changed lately, and those that expired lately (each
 * replica takes them out on its own, without a row). Undefined: only a full map will do.
 */
export function resumeTouches(
  logged: ReadonlySet<string> | undefined,
  recent: {
    localChangeAt: ReadonlyMap<string, number>;
    expiredAt: ReadonlyMap<string, number>;
    now: number;
    windowMs: number;
  },
): ReadonlySet<string> | undefined {
  if (!logged) return undefined;
  const touched = new Set(logged);
  for (const [id, at] of recent.localChangeAt) if (at > recent.now - PRESENCE_LAG_MS) touched.add(id);
  for (const [id, at] of recent.expiredAt) if (at > recent.now - recent.windowMs) touched.add(id);
  return touched;
}
