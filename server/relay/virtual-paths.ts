import type { UdpAddress } from './udp-address.ts';

/**
 * Datagram paths into the UDP port's pipeline that are not UDP (a node's WebSocket). Each gets
 * an address of its own in 100::/64, the IPv6 discard-only prefix (RFC 6666), with port 0: no
 * real UDP packet ever comes from one, so the pipeline (responder, reflector, relay) treats a
 * path like any other source address while the port tells them apart when sending.
 */
const PREFIX = '100::';

interface VirtualPathEntry {
  /** The node the path was authenticated as; it speaks for no other. */
  nodeId: string;
  deliver(packet: Uint8Array): void;
}

export class VirtualPaths {
  private readonly byAddress = new Map<string, VirtualPathEntry>();
  private next = 0;

  get size(): number {
    return this.byAddress.size;
  }

  add(entry: VirtualPathEntry): UdpAddress {
    let address: string;
    do {
      this.next = (this.next + 1) >>> 0;
      address = `${PREFIX}${(this.next >>> 16).toString(16)}:${(this.next & 0xffff).toString(16)}`;
    } while (this.byAddress.has(address));
    this.byAddress.set(address, entry);
    return { address, port: 0 };
  }

  remove(at: UdpAddress): void {
    this.byAddress.delete(at.address);
  }

  /** The path at this address, when it is one of ours (and still open). */
  get(at: UdpAddress): VirtualPathEntry | undefined {
    return isVirtual(at) ? this.byAddress.get(at.address) : undefined;
  }
}

export function isVirtual(at: UdpAddress): boolean {
  return at.port === 0 && at.address.startsWith(PREFIX);
}

/** Whether an observed endpoint (`[ip]:port`) is a virtual path's: never published, peers cannot reach it. */
export function isVirtualEndpoint(endpoint: string): boolean {
  return endpoint.startsWith(`[${PREFIX}`);
}
