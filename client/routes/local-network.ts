import { z } from 'zod';
import { parseAddress, type Address } from '../../protocol/ip/address.ts';
import { parsePrefix } from '../../protocol/ip/prefix.ts';
import { run, type Runner } from '../system/run.ts';
import type { LocalNetwork } from './route-safety.ts';

/**
 * What route-safety.ts weighs a route against, read from the kernel's main table (`ip -json`):
 * the networks on this machine's other interfaces (routes without a gateway), the next hops of
 * its default routes, and the control server's addresses as the caller resolved them. The mesh
 * interface's own routes are not the machine's LAN, and are left out.
 */
const KernelRoute = z.object({
  dst: z.string(),
  dev: z.string().optional(),
  gateway: z.string().optional(),
  type: z.string().optional(),
});

export async function readLocalNetwork(
  meshIface: string,
  servers: readonly string[],
  netns: string | undefined = undefined,
  runner: Runner = run,
): Promise<LocalNetwork> {
  const local: { connected: LocalNetwork['connected'][number][]; gateways: Address[]; servers: Address[] } = {
    connected: [],
    gateways: [],
    servers: servers.flatMap((s) => address(s)),
  };
  // Both families at once: this is read on every map, in front of the peers' update.
  const tables = await Promise.all(
    ([4, 6] as const).map((family) =>
      runner('ip', [`-${family}`, '-json', 'route', 'show', 'table', 'main'], { netns }),
    ),
  );
  for (const { stdout } of tables) {
    const routes = z.array(KernelRoute).parse(JSON.parse(stdout || '[]'));
    for (const r of routes) {
      if (r.dev === meshIface || (r.type !== undefined && r.type !== 'unicast')) continue;
      if (r.dst === 'default') {
        if (r.gateway) local.gateways.push(...address(r.gateway));
        continue;
      }
      const p = parsePrefix(r.dst, { bareAddress: true });
      if (r.gateway || !p.ok || r.dev === undefined) continue;
      // Link-local ranges are on every interface and never a subnet route.
      if (p.value.family === 6 && r.dst.toLowerCase().startsWith('fe80:')) continue;
      local.connected.push({ prefix: p.value, dev: r.dev });
    }
  }
  return local;
}

function address(text: string): Address[] {
  const a = parseAddress(text);
  return a.ok ? [a.value] : [];
}
