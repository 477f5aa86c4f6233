import { canonicalPrefix, isPrefix } from '../netconf/prefix.ts';
import { WireGuardError } from './errors.ts';
import { isBase64Key } from './keys.ts';
import { checkEndpoint } from './uapi-format.ts';
import type { PeerSettings, PeerState } from './uapi-format.ts';

/**
 * What a device should look like for one peer, and the smallest set of UAPI peer sections that
 * turns the device's current peers into the desired ones: unchanged peers are not sent at all
 * (so their sessions and counters are untouched), changed peers are sent with `update_only`
 * and only the fields that differ, vanished peers with `remove=true`.
 */
export interface PeerConfig {
  publicKey: string;
  /** `ip:port` / `[v6]:port`; absent = leave whatever the device learnt. */
  endpoint?: string;
  allowedIPs: readonly string[];
  /** Seconds; absent or 0 = off. */
  persistentKeepalive?: number;
  presharedKey?: string;
}

export interface PeerChanges {
  added: string[];
  updated: string[];
  removed: string[];
}

/**
 * `lastApplied` is what we asked for last time, per public key. It matters for the endpoint:
 * the device's current endpoint follows the peer when it roams, so comparing against it would
 * undo roaming on every update. We send an endpoint only when the desired one changed since we
 * last sent it (or we never sent one for this peer and the device's differs).
 */
export function diffPeers(
  current: readonly PeerState[],
  desired: readonly PeerConfig[],
  lastApplied: ReadonlyMap<string, PeerConfig> = new Map(),
): { sections: PeerSettings[]; changes: PeerChanges } {
  const byKey = new Map(current.map((p) => [p.publicKey, p]));
  const wanted = new Map<string, PeerConfig>();
  desired.forEach((d, i) => validatePeer(d, i));
  for (const d of desired) {
    if (wanted.has(d.publicKey)) {
      throw new WireGuardError('wireguard.invalid_config', `peer ${d.publicKey} is listed twice in the desired peers`);
    }
    wanted.set(d.publicKey, d);
  }
  const removals: PeerSettings[] = [];
  const updates: PeerSettings[] = [];
  const adds: PeerSettings[] = [];
  const changes: PeerChanges = { added: [], updated: [], removed: [] };

  for (const cur of current) {
    if (!wanted.has(cur.publicKey)) {
      removals.push({ publicKey: cur.publicKey, remove: true });
      changes.removed.push(cur.publicKey);
    }
  }
  for (const d of wanted.values()) {
    const cur = byKey.get(d.publicKey);
    if (!cur) {
      adds.push({
        publicKey: d.publicKey,
        ...(d.endpoint !== undefined && { endpoint: d.endpoint }),
        ...(d.persistentKeepalive && { persistentKeepalive: d.persistentKeepalive }),
        ...(d.presharedKey !== undefined && { presharedKey: d.presharedKey }),
        allowedIPs: d.allowedIPs,
      });
      changes.added.push(d.publicKey);
      continue;
    }
    const section = updateSection(cur, d, lastApplied.get(d.publicKey));
    if (section) {
      updates.push(section);
      changes.updated.push(d.publicKey);
    }
  }
  return { sections: [...removals, ...updates, ...adds], changes };
}

function updateSection(cur: PeerState, d: PeerConfig, last: PeerConfig | undefined): PeerSettings | undefined {
  const s: PeerSettings = { publicKey: d.publicKey, updateOnly: true };
  let changed = false;
  if (!sameSet(cur.allowedIPs, d.allowedIPs)) {
    s.allowedIPs = d.allowedIPs;
    changed = true;
  }
  if ((d.persistentKeepalive ?? 0) !== cur.persistentKeepalive) {
    s.persistentKeepalive = d.persistentKeepalive ?? 0;
    changed = true;
  }
  // The device reports only whether a preshared key is set; its value we compare with our last.
  const pskChanged =
    d.presharedKey === undefined ? cur.hasPresharedKey : !cur.hasPresharedKey || d.presharedKey !== last?.presharedKey;
  if (pskChanged) {
    s.presharedKey = d.presharedKey ?? null;
    changed = true;
  }
  if (d.endpoint !== undefined) {
    const reference = last?.endpoint ?? cur.endpoint;
    if (d.endpoint !== reference) {
      s.endpoint = d.endpoint;
      changed = true;
    }
  }
  return changed ? s : undefined;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const ca = new Set(a.map((x) => canonicalPrefix(x)));
  const cb = new Set(b.map((x) => canonicalPrefix(x)));
  return ca.size === cb.size && [...ca].every((x) => cb.has(x));
}

function validatePeer(d: PeerConfig, i: number): void {
  const fail = (what: string) => new WireGuardError('wireguard.invalid_config', `peers[${i}]: ${what}`);
  if (!isBase64Key(d.publicKey)) throw fail('publicKey must be a 32-byte key in base64');
  d.allowedIPs.forEach((ip, j) => {
    if (!isPrefix(ip)) throw fail(`allowedIPs[${j}] ${JSON.stringify(ip)} is not a CIDR prefix with host bits clear`);
  });
  if (d.endpoint !== undefined) {
    try {
      checkEndpoint(d.endpoint);
    } catch (err) {
      throw fail((err as Error).message);
    }
  }
  const k = d.persistentKeepalive;
  if (k !== undefined && (!Number.isInteger(k) || k < 0 || k > 65535))
    throw fail('persistentKeepalive must be 0-65535 seconds');
  if (d.presharedKey !== undefined && !isBase64Key(d.presharedKey))
    throw fail('presharedKey must be a 32-byte key in base64');
}
