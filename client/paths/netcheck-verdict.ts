import type { NetcheckReport, VerdictCode } from './netcheck-report.ts';

/**
 * One line on what the probes mean for paths to peers. Direct paths through two NATs need at
 * least one side whose mapping does not depend on the destination (hole punching aims at the
 * mapping the server saw); the relay always works while UDP does, the WebSocket relay when not.
 */
export function verdictOf(udp: NetcheckReport['udp']): { code: VerdictCode; text: string } {
  if (udp.reachable === null)
    return { code: 'no-udp-relay', text: 'the server runs no UDP relay: direct paths or the WebSocket relay only' };
  if (!udp.reachable)
    return { code: 'udp-blocked', text: 'UDP blocked: traffic goes over the WebSocket relay (HTTPS)' };
  if (udp.mappingVariesByDestination === true) {
    return {
      code: 'needs-easy-peer',
      text: 'direct paths need the peer to have an easy NAT (this NAT maps by destination); else the relay',
    };
  }
  if (udp.mappingVariesByDestination === false) {
    return {
      code: 'direct-likely',
      text: udp.behindNat === false ? 'direct paths likely (no NAT in the way)' : 'direct paths likely',
    };
  }
  return { code: 'nat-unknown', text: 'UDP works (the relay will); NAT kind unknown: only one server port answered' };
}
