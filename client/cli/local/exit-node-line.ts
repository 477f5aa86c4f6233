import type { StatusResponse } from '../../agent/local-api/messages.ts';

/**
 * The exit node on one line of `up` and `status`: which one carries the traffic, or why
 * traffic is blocked ("exit node X offline; traffic blocked"); or, with none selected, which
 * ones this node could use.
 */
export function exitNodeLine(s: StatusResponse): string | undefined {
  const e = s.exitNode;
  if (!e) {
    const offered = s.exitNodeOptions ?? [];
    if (offered.length === 0) return undefined;
    return `exit nodes: ${offered.map((o) => `${o.name}${o.online ? '' : ' (offline)'}`).join(', ')} (use one with trellis up --exit-node NAME|auto)`;
  }
  if (e.message) return `exit:   ${e.message}`;
  const how = [
    e.wanted === 'auto' ? 'chosen by auto' : undefined,
    e.allowLanAccess ? 'LAN reachable' : 'LAN through the tunnel',
    e.killSwitch ? 'kill switch on' : undefined,
  ].filter(Boolean);
  return `exit:   all traffic through ${e.name} (${how.join(', ')})`;
}
