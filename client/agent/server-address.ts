import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * The control server's IP address, for the relay endpoint when the map does not name one
 * (WireGuard endpoints are addresses, not names). Undefined when the name does not resolve:
 * the node then runs without the relay until the next map is applied.
 */
export async function serverAddress(serverUrl: string): Promise<string | undefined> {
  let host: string;
  try {
    host = new URL(serverUrl).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return undefined;
  }
  if (isIP(host)) return host;
  return lookup(host).then(
    (r) => r.address,
    () => undefined,
  );
}
