import { endpointOf, type UdpAddress } from './udp-address.ts';

/**
 * What STUN would tell a node, learned from authenticated WireGuard packets only: the public
 * address and port its packets come from. The latest authentic packet wins (as WireGuard's own
 * roaming does); a change is published once, so a stable NAT mapping costs the map nothing.
 * Initiations never count: they can be replayed from anywhere, transport packets cannot.
 * The relay finds nodes by these addresses too.
 */
export class Reflector {
  private readonly byNode = new Map<string, { from: UdpAddress; endpoint: string; seenAt: number }>();
  private readonly byEndpoint = new Map<string, string>();

  constructor(
    /** Called with the node's new observed endpoint, or undefined when it is forgotten. */
    private readonly publish: (nodeId: string, endpoint: string | undefined) => void,
  ) {}

  observe(nodeId: string, from: UdpAddress, now: number): void {
    const endpoint = endpointOf(from);
    const known = this.byNode.get(nodeId);
    if (known?.endpoint === endpoint) {
      known.seenAt = now;
      return;
    }
    if (known) this.byEndpoint.delete(known.endpoint);
    // Another node's stale claim on this address (it moved away, a NAT reused the port) ends here.
    const previousOwner = this.byEndpoint.get(endpoint);
    if (previousOwner !== undefined && previousOwner !== nodeId) this.forget(previousOwner);
    this.byNode.set(nodeId, { from: { address: from.address, port: from.port }, endpoint, seenAt: now });
    this.byEndpoint.set(endpoint, nodeId);
    this.publish(nodeId, endpoint);
  }

  addressOf(nodeId: string): UdpAddress | undefined {
    return this.byNode.get(nodeId)?.from;
  }

  endpointOf(nodeId: string): string | undefined {
    return this.byNode.get(nodeId)?.endpoint;
  }

  nodes(): IterableIterator<string> {
    return this.byNode.keys();
  }

  nodeAt(from: UdpAddress): string | undefined {
    return this.byEndpoint.get(endpointOf(from));
  }

  forget(nodeId: string): void {
    const known = this.byNode.get(nodeId);
    if (!known) return;
    this.byNode.delete(nodeId);
    this.byEndpoint.delete(known.endpoint);
    this.publish(nodeId, undefined);
  }

  /** Forgets nodes silent since `before` (their NAT mapping has likely expired). */
  forgetSilent(before: number): void {
    for (const [id, k] of this.byNode) if (k.seenAt < before) this.forget(id);
  }
}
