import { probeStun } from './stun-probe.ts';

/**
 * Does UDP reach the relay? A few STUN Binding requests to its UDP port (which answers STUN as
 * well as WireGuard, server/relay/README.md "STUN") from a fresh socket, so that WireGuard's own
 * first handshake goes on undisturbed meanwhile. Three requests 300 ms apart, then 300 ms more for
 * the last answer: one answer is enough. Unanswered is only worth something next to a working TCP
 * path to the same server (the selector's rule); a lossy network loses some, rarely all.
 */
export const STUN_CHECK = { requests: 3, intervalMs: 300, lastWaitMs: 300 } as const;

/** `undefined` when `endpoint` is not `ip:port` or `[ipv6]:port` (nothing was sent). */
export async function relayAnswersStun(endpoint: string): Promise<boolean | undefined> {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(endpoint);
  const address = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!address || !(port > 0 && port < 65_536)) return undefined;
  const { requests, intervalMs, lastWaitMs } = STUN_CHECK;
  const [result] = await probeStun([{ address, port }], {
    wanted: 1,
    intervalMs,
    maxSends: requests,
    deadlineMs: (requests - 1) * intervalMs + lastWaitMs,
  });
  return (result?.mapped.length ?? 0) > 0;
}
