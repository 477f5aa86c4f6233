import { z } from 'zod';

/**
 * What `trellis netcheck --json` prints: one object, stable for scripts. `null` means "not
 * known" (the probe that would tell did not run or got no answer), never "no".
 */
export const PortProbe = z.object({
  /** `ip:port` probed. */
  target: z.string(),
  sent: z.number().int().nonnegative(),
  answered: z.number().int().nonnegative(),
  /** This machine's public `ip:port` as that port saw it; null: no answer. */
  mapped: z.string().nullable(),
  /** Median STUN round trip, ms; null: no answer. */
  rttMs: z.number().nonnegative().nullable(),
});
export type PortProbe = z.infer<typeof PortProbe>;

export const VerdictCode = z.enum(['direct-likely', 'needs-easy-peer', 'nat-unknown', 'udp-blocked', 'no-udp-relay']);
export type VerdictCode = z.infer<typeof VerdictCode>;

export const NetcheckReport = z.object({
  /** The control server's URL. */
  server: z.string(),
  udp: z.object({
    /** Any STUN answer came back; null when the server has no UDP relay to ask. */
    reachable: z.boolean().nullable(),
    /** The relay's port (WireGuard reflector and relay); null when the server has none. */
    relayPort: PortProbe.nullable(),
    /** The server's second, STUN-only port; null when the server has none. */
    stunPort: PortProbe.nullable(),
    /** Two ports saw different mappings of one socket: the NAT maps by destination ("hard NAT"). */
    mappingVariesByDestination: z.boolean().nullable(),
    /** The mapped address is not one of this machine's: something translates. */
    behindNat: z.boolean().nullable(),
  }),
  /** Median STUN round trip to the relay port, ms. */
  relayLatencyMs: z.number().nonnegative().nullable(),
  control: z.object({
    /** Median TCP connect time to the control server: the WebSocket relay's path, ms. */
    tcpLatencyMs: z.number().nonnegative().nullable(),
    /** The WebSocket relay's path on the control server (used when UDP is blocked). */
    wsPath: z.string(),
  }),
  /** This machine has a global unicast IPv6 address (2000::/3). */
  ipv6: z.object({ global: z.boolean() }),
  verdict: z.object({ code: VerdictCode, text: z.string() }),
  elapsedMs: z.number().nonnegative(),
});
export type NetcheckReport = z.infer<typeof NetcheckReport>;
