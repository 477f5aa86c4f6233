import { RelayInfo } from '../../../protocol/map.ts';
import { route, type Route } from '../route.ts';

/**
 * The relay's public settings, for `trellis netcheck` on a machine that has not joined (or
 * whose agent is not running): the ports to probe and the WebSocket relay's path. Public: every
 * value is visible to anyone who can send to the ports anyway.
 */
export function relayRoutes(info: () => RelayInfo): Route[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/relay/info',
      summary: "The relay's UDP and STUN ports and WebSocket path, for reachability checks",
      tag: 'relay',
      auth: { kind: 'public' },
      response: RelayInfo,
      handle: async () => RelayInfo.parse(info()),
    }),
  ];
}
