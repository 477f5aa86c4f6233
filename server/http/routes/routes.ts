import { PrefixView, listOf } from '../../../protocol/admin.ts';
import type { RouteTable } from '../../routes/route-table.ts';
import { route, type Route } from '../route.ts';

/** The subnet routes and exit nodes as the server elects them: each prefix, its primary, its standbys and why. */
export function routeTableRoutes(routes: RouteTable): Route[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/routes',
      summary: 'Every advertised prefix: its primary router, the standbys in takeover order, and why',
      tag: 'nodes',
      auth: { kind: 'admin', scope: 'read' },
      response: listOf(PrefixView),
      handle: async () => ({ items: routes.view() }),
    }),
  ];
}
