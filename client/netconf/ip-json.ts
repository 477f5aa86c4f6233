import { z } from 'zod';
import { run, type Runner } from '../system/run.ts';

/**
 * Reading state through `ip -json`, validated: iproute2's JSON is the stable way to read
 * addresses and routes (its text output changes between versions).
 */
// With a filter (scope, label), iproute2 prints `{}` for each address it filtered out.
const AddrInfo = z.union([
  z.object({ family: z.string(), local: z.string(), prefixlen: z.number() }),
  z.object({}).strict(),
]);
const Link = z.object({
  ifname: z.string(),
  mtu: z.number(),
  flags: z.array(z.string()),
  addr_info: z
    .array(AddrInfo)
    .default([])
    .transform((list) => list.filter((a): a is { family: string; local: string; prefixlen: number } => 'local' in a)),
});
const Route = z.object({
  type: z.string().optional(),
  dst: z.string(),
  dev: z.string().optional(),
  metric: z.number().optional(),
});
/** iproute2 prints the /0 route as `default`. */
export const routeDst = (family: 4 | 6, dst: string): string =>
  dst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : dst;
type LinkInfo = z.infer<typeof Link>;
type RouteInfo = z.infer<typeof Route>;

export async function showLink(iface: string, netns: string | undefined, runner: Runner = run): Promise<LinkInfo> {
  const { stdout } = await runner('ip', ['-json', 'addr', 'show', 'dev', iface], { netns });
  const [link] = z.array(Link).parse(JSON.parse(stdout));
  if (!link) throw new Error(`ip -json addr show dev ${iface}: no such interface`);
  return link;
}

/** Routes of one family matching `selector` (e.g. `['proto', '126', 'dev', 'wg0']`), main table. */
export async function showRoutes(
  family: 4 | 6,
  selector: readonly string[],
  netns: string | undefined,
  runner: Runner = run,
): Promise<RouteInfo[]> {
  const { stdout } = await runner('ip', [`-${family}`, '-json', 'route', 'show', ...selector], { netns });
  return z.array(Route).parse(JSON.parse(stdout || '[]'));
}
