import { isIP } from 'node:net';
import { formatPrefix, parsePrefix } from '../../protocol/ip/prefix.ts';
import type { RouteProbe } from '../../protocol/route-health.ts';

/**
 * `--route-probe PREFIX=tcp:HOST:PORT` or `PREFIX=icmp:HOST`: what the router checks to know it
 * reaches the subnet it routes (`10.1.0.0/24=tcp:10.1.0.10:443`, `fd00:1::/64=tcp:[fd00:1::10]:22`,
 * `10.1.0.0/24=icmp:10.1.0.1`). HOST is an IP address: a name would make the probe depend on DNS.
 */
export interface RouteProbeSpec {
  /** The advertised route this probe speaks for, canonical. */
  prefix: string;
  probe: RouteProbe;
}

export type ProbeSpecResult = { ok: true; value: RouteProbeSpec } | { ok: false; error: string };

const HOST_PORT = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/;

export function parseProbeSpec(text: string): ProbeSpecResult {
  const fail = (why: string): ProbeSpecResult => ({ ok: false, error: `"${text}": ${why}` });
  const eq = text.indexOf('=');
  if (eq < 0) return fail('write PREFIX=tcp:HOST:PORT or PREFIX=icmp:HOST');
  const prefix = parsePrefix(text.slice(0, eq), { bareAddress: false });
  if (!prefix.ok) return fail(prefix.error.message);
  const probe = text.slice(eq + 1);
  const colon = probe.indexOf(':');
  const kind = colon < 0 ? probe : probe.slice(0, colon);
  const target = colon < 0 ? '' : probe.slice(colon + 1);
  const route = formatPrefix(prefix.value);
  if (kind === 'icmp') {
    if (isIP(target) === 0) return fail(`icmp needs an IP address to ping, got "${target}"`);
    return { ok: true, value: { prefix: route, probe: { kind: 'icmp', target } } };
  }
  if (kind === 'tcp') {
    const m = HOST_PORT.exec(target);
    const host = m?.[1] ?? m?.[2];
    const port = Number(m?.[3]);
    if (!m || isIP(host!) === 0 || (m[1] !== undefined) !== (isIP(host!) === 6))
      return fail(`tcp needs IP:PORT ([IPv6]:PORT), got "${target}"`);
    if (port < 1 || port > 65535) return fail(`port ${port} is not 1-65535`);
    return { ok: true, value: { prefix: route, probe: { kind: 'tcp', target } } };
  }
  return fail(`the probe is tcp:HOST:PORT or icmp:HOST, not "${kind}"`);
}
