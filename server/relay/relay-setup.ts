import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import type { RelayConfig } from '../../protocol/map.ts';
import type { ServerKeyRepository } from '../store/store.ts';
import { loadServerKey } from './server-key.ts';
import { StunPort } from './stun-port.ts';
import { UdpPort } from './udp-port.ts';

/**
 * Opens the reflector and relay port from the server's settings (`udpPort` -1: disabled), and
 * the STUN port beside it (`stunPort` -1: off), early, so that the map's relay settings can
 * name the real ports and the server's WireGuard key.
 */
export interface OpenRelay {
  port: UdpPort;
  stun?: StunPort;
  /** What every map says about it (protocol/map.ts RelayConfig). */
  settings: Pick<RelayConfig, 'udpPort' | 'stunPort' | 'wireguardKey' | 'endpoint' | 'instance'>;
}

export async function openRelay(options: {
  dataDir: string;
  /** Where the key every replica shares is kept. */
  keys: ServerKeyRepository;
  now: number;
  host: string;
  udpPort: number;
  stunPort: number;
  publicUrl?: string;
  /** This replica's own relay address (relay.publicHost), before the public URL's. */
  publicHost?: string;
}): Promise<OpenRelay | undefined> {
  if (options.udpPort < 0) return undefined;
  mkdirSync(options.dataDir, { recursive: true });
  const key = await loadServerKey(options.keys, options.dataDir, options.now);
  const port = await UdpPort.bind(options.host, options.udpPort, key);
  let stun: StunPort | undefined;
  try {
    stun = options.stunPort < 0 ? undefined : await StunPort.bind(options.host, options.stunPort);
  } catch (err) {
    await port.close();
    throw err;
  }
  const host = options.publicHost ?? advertisedHost(options.host, options.publicUrl);
  const endpoint =
    host === undefined ? undefined : host.includes(':') ? `[${host}]:${port.port}` : `${host}:${port.port}`;
  const instance = randomBytes(8).toString('hex');
  return {
    port,
    stun,
    settings: { udpPort: port.port, stunPort: stun?.port, wireguardKey: key.publicKeyBase64, endpoint, instance },
  };
}

/** An IP agents can use: the public URL's host if it is one, else a specific listen address. */
function advertisedHost(listenHost: string, publicUrl?: string): string | undefined {
  const urlHost = publicUrl ? new URL(publicUrl).hostname.replace(/^\[|\]$/g, '') : undefined;
  if (urlHost !== undefined) return isIP(urlHost) ? urlHost : undefined;
  return isIP(listenHost) && listenHost !== '0.0.0.0' && listenHost !== '::' ? listenHost : undefined;
}
