import { z } from 'zod';

/**
 * One inbound packet-filter rule, as the server compiles it for one node and the agent enforces it.
 * A packet is accepted when any rule matches: its source is in `srcIPs`, its destination address
 * and port are in one of `dstPorts`, and its IP protocol is in `ipProto`.
 */
export const PortRange = z.object({
  first: z.number().int().min(0).max(65535),
  last: z.number().int().min(0).max(65535),
});
export type PortRange = z.infer<typeof PortRange>;

const DstPorts = z.object({
  /** An IP, a CIDR, or `*` (any address). */
  ip: z.string(),
  ports: PortRange,
});

const CapGrant = z.object({
  /** Destination prefixes the capability applies to: the node's own as `/32` and `/128`, or a route. */
  dsts: z.array(z.string()),
  /** Capability name -> list of JSON values, as written in the policy's grant `app`. */
  capMap: z.record(z.string(), z.array(z.unknown())),
});

export const FilterRule = z.object({
  /** IPs, CIDRs, or `*`. */
  srcIPs: z.array(z.string()),
  dstPorts: z.array(DstPorts),
  /** IANA protocol numbers; never empty on the wire (the compiler fills the default). */
  ipProto: z.array(z.number().int().min(0).max(255)),
  /** Application capabilities granted to these sources (no dstPorts then). */
  capGrant: z.array(CapGrant).optional(),
});
export type FilterRule = z.infer<typeof FilterRule>;
