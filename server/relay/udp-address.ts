/** A UDP peer address as the socket reports it, and its `ip:port` / `[v6]:port` form. */
export interface UdpAddress {
  address: string;
  port: number;
}

/** `ip:port`, with IPv4-mapped IPv6 (from a dual-stack socket) shown as plain IPv4. */
export function endpointOf(from: UdpAddress): string {
  const ip = from.address.startsWith('::ffff:') && from.address.includes('.') ? from.address.slice(7) : from.address;
  return ip.includes(':') ? `[${ip}]:${from.port}` : `${ip}:${from.port}`;
}
