import type { ServeSpec } from './served-services.ts';

export type ServeSpecResult = { ok: true; value: ServeSpec } | { ok: false; error: string };

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * `--serve NAME` or `--serve NAME=tcp:PORT` (`kube=tcp:443`): the service, and the TCP port on
 * its address that says the replica is healthy (nothing answering there: the service moves to
 * another replica). Without a port, the replica counts as healthy while its agent is up.
 */
export function parseServeSpec(text: string): ServeSpecResult {
  const fail = (why: string): ServeSpecResult => ({ ok: false, error: `"${text}": ${why}` });
  const eq = text.indexOf('=');
  const name = (eq < 0 ? text : text.slice(0, eq)).toLowerCase();
  if (!LABEL.test(name)) return fail("the service's name is a DNS label (kube, api-proxy)");
  if (eq < 0) return { ok: true, value: { name } };
  const m = /^tcp:(\d{1,5})$/.exec(text.slice(eq + 1));
  const port = Number(m?.[1]);
  if (!m || port < 1 || port > 65535) return fail('the health check is tcp:PORT (kube=tcp:443), PORT 1-65535');
  return { ok: true, value: { name, probePort: port } };
}
