import { randomBytes } from 'node:crypto';
import { jsonText, type JsonText } from '../../protocol/json-text.ts';
import type { PathTrial } from '../../protocol/map.ts';
import { TokenBucket } from '../relay/token-bucket.ts';

/**
 * Coordinates direct-path attempts. A node whose relayed peer carries traffic asks for one;
 * the broker sends both nodes the other's candidates at the same moment, so each side's
 * packets open its own NAT for the other's (hole punching needs both to send at once).
 * Only pairs that see each other under the policy, both connected, and both seen by the
 * server's UDP port (else there is no relayed session to upgrade) get a trial.
 */
interface PathBrokerDeps {
  visiblePeers(nodeId: string): readonly string[];
  /** A connected node's reported endpoints and observed endpoint; undefined when offline. */
  candidatesOf(nodeId: string): { endpoints: readonly string[]; observed: string | undefined } | undefined;
  /** Sends a message on the node's map stream; false when it has none. */
  send(nodeId: string, text: JsonText<PathTrial>): boolean;
  now(): number;
}

type TrialOutcome = 'started' | 'rate_limited' | 'not_visible' | 'peer_offline' | 'recent';

/** Requests per node: a burst for a node bringing many peers up, then a steady trickle. */
const REQUESTS_PER_SECOND = 2;
const REQUEST_BURST = 20;
/**
 * Both sides of a pair often ask at once; one trial serves them both. Short, so that a pair
 * whose new path died at once (a machine moved) gets its next trial without waiting; an agent
 * ignores a trial for a peer it is still trying, and the per-node budget bounds the rest.
 */
export const PAIR_COOLDOWN_MS = 2_000;

export class PathBroker {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly recent = new Map<string, number>();
  private swept = 0;

  constructor(private readonly deps: PathBrokerDeps) {}

  request(from: string, peer: string): TrialOutcome {
    const now = this.deps.now();
    this.sweep(now);
    let bucket = this.buckets.get(from);
    if (!bucket) this.buckets.set(from, (bucket = new TokenBucket(REQUESTS_PER_SECOND, REQUEST_BURST, now)));
    if (!bucket.take(1, now)) return 'rate_limited';
    if (from === peer || !this.deps.visiblePeers(from).includes(peer)) return 'not_visible';
    const pair = from < peer ? `${from} ${peer}` : `${peer} ${from}`;
    if ((this.recent.get(pair) ?? -Infinity) > now - PAIR_COOLDOWN_MS) return 'recent';
    const a = this.deps.candidatesOf(from);
    const b = this.deps.candidatesOf(peer);
    if (!a?.observed || !b?.observed) return 'peer_offline';
    this.recent.set(pair, now);
    const trial = randomBytes(6).toString('hex');
    const message = (other: string, c: NonNullable<typeof a>) =>
      jsonText<PathTrial>({ type: 'path-trial', trial, peer: other, candidates: candidateList(c) });
    this.deps.send(from, message(peer, b));
    this.deps.send(peer, message(from, a));
    return 'started';
  }

  private sweep(now: number): void {
    if (now - this.swept < 10_000) return;
    this.swept = now;
    for (const [pair, at] of this.recent) if (at <= now - PAIR_COOLDOWN_MS) this.recent.delete(pair);
    for (const [id, b] of this.buckets) if (b.idle(now)) this.buckets.delete(id);
  }
}

/** The observed endpoint first: it is the one that works across NATs; the agent reorders by its own links. */
function candidateList(c: { endpoints: readonly string[]; observed: string | undefined }): string[] {
  return [...new Set([...(c.observed ? [c.observed] : []), ...c.endpoints])].slice(0, 17);
}
