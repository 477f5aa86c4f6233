import { z } from 'zod';

/**
 * How a node reaches its peers, as it last saw them: counts of peers by path. The agent's own
 * `trellis status` has the per-peer answer; the server keeps only this summary, so a node with
 * thousands of peers costs a few numbers in presence, not a list.
 */
const PeerCount = z.number().int().min(0).max(1_000_000);

export const PathSummary = z.strictObject({
  /** Peers with a handshaken endpoint of their own (hole punched or plainly reachable). */
  direct: PeerCount,
  /** Peers reached through the server's relay (UDP or WebSocket). */
  relay: PeerCount,
  /** Peers with no path yet (no endpoint, or no handshake completed). */
  none: PeerCount,
});
export type PathSummary = z.infer<typeof PathSummary>;

/**
 * Agent to server on the map stream (protocol 14): the node's path summary, replacing the
 * previous one. Sent when the stream opens and whenever the counts change (the agent checks
 * every few seconds). Send it only to servers whose map says `protocolVersion` >= 14: older
 * servers end the stream on a message they do not know. The server keeps it only while the
 * stream is open.
 */
export const PathReport = z.strictObject({
  type: z.literal('paths'),
  ...PathSummary.shape,
});
export type PathReport = z.infer<typeof PathReport>;

export const PATH_REPORT_VERSION = 14;
