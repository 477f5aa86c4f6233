import { isExitRoute } from '../../protocol/route.ts';

/** What `--advertise-exit-node` advertises: everywhere, in both families. */
export const EXIT_ROUTES = ['0.0.0.0/0', '::/0'] as const;

/**
 * The routes a node advertises after an `up`: the subnet routes asked for (else those of
 * before), with the exit routes when the node offers itself as an exit node. The request's
 * `advertiseExitNode` decides; absent, the node stays an exit node if it was one (or the routes
 * asked for name 0.0.0.0/0 or ::/0 themselves).
 */
export function advertisedWithExit(
  req: { advertiseRoutes?: readonly string[]; advertiseExitNode?: boolean },
  before: readonly string[],
): string[] {
  const routes = req.advertiseRoutes ?? before;
  const exit = req.advertiseExitNode ?? (before.some(isExitRoute) || routes.some(isExitRoute));
  return [...routes.filter((r) => !isExitRoute(r)), ...(exit ? EXIT_ROUTES : [])];
}
