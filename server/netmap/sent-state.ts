import { randomInt } from 'node:crypto';
import type { SharedFilter } from './filter-json.ts';

/**
 * A random jump of a session's versions where it takes over from another replica's: two
 * replicas that both continue from one agent version would otherwise number their messages
 * alike, and a state one kept could pass for the map the agent got from the other.
 */
export const versionStride = (): number => randomInt(1, 1 << 20);

/**
 * What one node has been sent: the revision of each peer it holds, its filter and its own
 * record. Deltas are computed against it at send time, so any number of changes between two
 * sends coalesce into one delta, and a slow connection costs memory proportional to its peers,
 * not to the changes it missed. Kept for a while after a disconnect so the agent can resume.
 */
export class SentState {
  /** Each peer's revision and this node's variant of it, as sent (see session.ts `stamp`). */
  peers = new Map<string, string>();
  /** The shared peer list (see MapSource.peerGroupOf) as of the last scan, to see at a glance whether it changed. */
  peerGroup: readonly string[] = [];
  /** The filter last sent: a shared template and the own addresses it was filled with. */
  filter: SharedFilter | undefined = undefined;
  filterOwn: readonly string[] = [];
  selfRevision = 0;
  policyWarning: string | undefined = undefined;

  constructor(public version: number) {}
}
