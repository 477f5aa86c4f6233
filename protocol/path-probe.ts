/**
 * Agent to agent, inside the tunnel: a UDP echo on each node's mesh addresses, so that a node
 * can measure its path to a peer (latency, and whether a direct path still carries packets)
 * whatever ports the policy opens. 16 bytes each way: "TRLP", a type (1 request, 2 reply),
 * three zero bytes, and an 8-byte id the reply repeats. Nothing else is ever answered.
 */
export const PATH_PROBE_PORT = 41642;
export const PATH_PROBE_BYTES = 16;
export const PATH_PROBE_MAGIC = 0x54524c50; // "TRLP"
export const PathProbeType = { request: 1, reply: 2 } as const;
