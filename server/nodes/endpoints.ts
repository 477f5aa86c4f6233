import { isIP } from 'node:net';
import { invalid } from '../errors.ts';

/** Checks endpoint candidates an agent reports: each `ip:port` or `[ipv6]:port`. */
export function checkEndpoints(endpoints: string[], where: string): string[] {
  for (const e of endpoints) {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(e);
    const ip = m?.[1] ?? m?.[2];
    if (!m || !ip || !isIP(ip) || Number(m[3]) < 1 || Number(m[3]) > 65535) {
      throw invalid('endpoint.malformed', `${where}: "${e}" is not ip:port or [ipv6]:port`, where);
    }
  }
  return endpoints;
}
