import { isIPv4, isIPv6 } from 'node:net';
import { canonicalPrefix, PrefixError } from '../netconf/prefix.ts';
import { WireGuardError } from './errors.ts';
import { base64ToHex, hexToBase64, publicKeyOf } from './keys.ts';
import { isTimeMs } from '../../protocol/time.ts';

/**
 * The WireGuard cross-platform UAPI text protocol (wireguard.com/xplatform), without I/O:
 * building `set=1` requests and parsing `get=1` answers. Keys are base64 on our side and
 * 64-char lowercase hex on the wire. A peer section starts at `public_key=`; every value we
 * write is validated first, so a newline can never smuggle in another key.
 */

interface DeviceSettings {
  privateKey?: string;
  listenPort?: number;
  fwmark?: number;
  /** Drop every peer not named in this request. */
  replacePeers?: boolean;
}

export interface PeerSettings {
  publicKey: string;
  /** Remove this peer; nothing else in the section matters. */
  remove?: boolean;
  /** Only change an existing peer; never create it. */
  updateOnly?: boolean;
  /** A base64 key, or null to clear it. */
  presharedKey?: string | null;
  /** `ip:port` or `[v6]:port`. */
  endpoint?: string;
  /** Seconds; 0 turns it off. */
  persistentKeepalive?: number;
  /** When present, replaces the peer's allowed IPs with exactly these. */
  allowedIPs?: readonly string[];
}

export interface SetRequest {
  device?: DeviceSettings;
  peers?: readonly PeerSettings[];
}

export interface PeerState {
  publicKey: string;
  hasPresharedKey: boolean;
  endpoint?: string;
  /** Absent when no handshake ever completed. */
  lastHandshake?: Date;
  rxBytes: number;
  txBytes: number;
  persistentKeepalive: number;
  allowedIPs: string[];
}

export interface DeviceState {
  /** Derived from the private key; absent when none is set. The private key never leaves here. */
  publicKey?: string;
  listenPort: number;
  fwmark: number;
  peers: PeerState[];
}

const ZERO_KEY_HEX = '0'.repeat(64);

export function formatSetRequest(req: SetRequest): string {
  const lines = ['set=1'];
  const d = req.device ?? {};
  if (d.privateKey !== undefined) lines.push(`private_key=${base64ToHex(d.privateKey, 'private key')}`);
  if (d.listenPort !== undefined) lines.push(`listen_port=${checkInt(d.listenPort, 0, 65535, 'listen port')}`);
  if (d.fwmark !== undefined) lines.push(`fwmark=${checkInt(d.fwmark, 0, 0xffffffff, 'fwmark')}`);
  if (d.replacePeers) lines.push('replace_peers=true');
  for (const p of req.peers ?? []) lines.push(...peerLines(p));
  return `${lines.join('\n')}\n\n`;
}

function peerLines(p: PeerSettings): string[] {
  const lines = [`public_key=${base64ToHex(p.publicKey, 'peer public key')}`];
  if (p.remove) return [...lines, 'remove=true'];
  if (p.updateOnly) lines.push('update_only=true');
  if (p.presharedKey !== undefined) {
    lines.push(
      `preshared_key=${p.presharedKey === null ? ZERO_KEY_HEX : base64ToHex(p.presharedKey, 'preshared key')}`,
    );
  }
  if (p.endpoint !== undefined) lines.push(`endpoint=${checkEndpoint(p.endpoint)}`);
  if (p.persistentKeepalive !== undefined) {
    lines.push(`persistent_keepalive_interval=${checkInt(p.persistentKeepalive, 0, 65535, 'persistent keepalive')}`);
  }
  if (p.allowedIPs !== undefined) {
    lines.push('replace_allowed_ips=true');
    for (const ip of p.allowedIPs) lines.push(`allowed_ip=${checkPrefix(ip)}`);
  }
  return lines;
}

/** Parses a `get=1` answer (without its `errno=` line, which the client checks first). */
export function parseGetResponse(text: string): DeviceState {
  const state: DeviceState = { listenPort: 0, fwmark: 0, peers: [] };
  let peer: PeerState | undefined;
  let handshakeSec = 0;
  let handshakeNsec = 0;
  const finishPeer = () => {
    const at = handshakeSec * 1000 + Math.floor(handshakeNsec / 1e6);
    // A time no date can hold is no handshake time (it would make every Date use throw later).
    if (peer && at > 0 && isTimeMs(at)) peer.lastHandshake = new Date(at);
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw protocolError(`line without "=": ${JSON.stringify(line.slice(0, 80))}`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'public_key') {
      finishPeer();
      peer = {
        publicKey: hexToBase64(value, 'peer public key'),
        hasPresharedKey: false,
        rxBytes: 0,
        txBytes: 0,
        persistentKeepalive: 0,
        allowedIPs: [],
      };
      handshakeSec = handshakeNsec = 0;
      state.peers.push(peer);
      continue;
    }
    if (!peer) {
      if (key === 'private_key')
        state.publicKey = value === ZERO_KEY_HEX ? undefined : publicKeyOf(hexToBase64(value, 'private key'));
      else if (key === 'listen_port') state.listenPort = parseCount(key, value, MAX_PORT);
      else if (key === 'fwmark') state.fwmark = parseCount(key, value, MAX_U32);
      continue; // unknown device keys: newer wireguard-go, ignore
    }
    switch (key) {
      case 'preshared_key':
        peer.hasPresharedKey = value !== ZERO_KEY_HEX;
        break;
      case 'endpoint':
        peer.endpoint = value;
        break;
      case 'last_handshake_time_sec':
        handshakeSec = parseCount(key, value);
        break;
      case 'last_handshake_time_nsec':
        handshakeNsec = parseCount(key, value);
        break;
      case 'rx_bytes':
        peer.rxBytes = parseCount(key, value);
        break;
      case 'tx_bytes':
        peer.txBytes = parseCount(key, value);
        break;
      case 'persistent_keepalive_interval':
        peer.persistentKeepalive = parseCount(key, value, MAX_PORT);
        break;
      case 'allowed_ip':
        peer.allowedIPs.push(value);
        break;
      default: // protocol_version and keys we do not use
    }
  }
  finishPeer();
  return state;
}

/**
 * Splits the trailing `errno=N` off an answer. wireguard-go writes negative values, so the
 * sign is part of the number; any nonzero value is a failure.
 */
export function splitErrno(text: string): { body: string; errno: number } {
  const m = /(?:^|\n)errno=(-?\d+)\n\n$/.exec(text);
  if (!m) throw protocolError(`answer does not end with an errno line: ${JSON.stringify(text.slice(-80))}`);
  return { body: text.slice(0, m.index + (m[0].startsWith('\n') ? 1 : 0)), errno: Number(m[1]) };
}

const MAX_PORT = 65535;
const MAX_U32 = 0xffffffff;

/** A count no larger than its field holds (a port, a mark) and than a number holds exactly (2^53). */
function parseCount(key: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n))
    throw protocolError(`${key} is not a non-negative integer: ${JSON.stringify(value.slice(0, 40))}`);
  if (n > max) throw protocolError(`${key} is larger than ${max}: ${n}`);
  return n;
}

function protocolError(detail: string): WireGuardError {
  return new WireGuardError('wireguard.uapi_protocol', `unexpected UAPI answer: ${detail}`);
}

function checkInt(n: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new WireGuardError('wireguard.invalid_config', `${what} must be an integer ${min}-${max}, got ${n}`);
  }
  return n;
}

function checkPrefix(text: string): string {
  try {
    return canonicalPrefix(text);
  } catch (err) {
    if (err instanceof PrefixError)
      throw new WireGuardError('wireguard.invalid_config', `allowed IP ${err.message}`, { cause: err });
    throw err;
  }
}

/** `1.2.3.4:51820` or `[fd00::1]:51820`; host names are not resolved here. */
export function checkEndpoint(text: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  const ok =
    m &&
    host !== undefined &&
    (m[1] !== undefined ? isIPv6(host) : isIPv4(host)) &&
    Number(m[3]) <= 65535 &&
    Number(m[3]) > 0;
  if (!ok)
    throw new WireGuardError(
      'wireguard.invalid_config',
      `endpoint must be "ip:port" or "[ipv6]:port", got ${JSON.stringify(text)}`,
    );
  return text;
}
