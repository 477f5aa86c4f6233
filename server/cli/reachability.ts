import { networkInterfaces } from 'node:os';

/**
 * Where other machines can reach the server, when the config does not say (no `publicUrl`).
 * A wildcard listen address (0.0.0.0, ::) is no address to join: the machine's own addresses
 * are the candidates. A loopback one is reachable from this machine only.
 */
export type Reachability =
  | { kind: 'public'; url: string } // publicUrl is set, or the listen address is a specific one
  | { kind: 'loopback'; url: string } // only this machine can join
  | { kind: 'wildcard'; port: number; candidates: string[] }; // every address: which one is for the user to say

const WILDCARDS = new Set(['0.0.0.0', '::', '::0', '0:0:0:0:0:0:0:0', '[::]']);

export function reachability(
  listen: { host: string; port: number },
  publicUrl: string | undefined,
  listenUrl: string,
  addresses: () => string[] = machineAddresses,
): Reachability {
  if (publicUrl !== undefined) return { kind: 'public', url: publicUrl };
  const host = listen.host.toLowerCase();
  if (WILDCARDS.has(host)) {
    const port = Number(new URL(listenUrl).port);
    const ipv4Only = host === '0.0.0.0';
    const candidates = addresses()
      .filter((a) => !ipv4Only || !a.includes(':'))
      .map((a) => `http://${a.includes(':') ? `[${a}]` : a}:${port}`);
    return { kind: 'wildcard', port, candidates };
  }
  if (host === 'localhost' || host === '::1' || host.startsWith('127.')) return { kind: 'loopback', url: listenUrl };
  return { kind: 'public', url: listenUrl };
}

/**
 * A link the server made from its own URL, on an origin a browser can open: with no publicUrl
 * and a wildcard listen address the server's URL is `http://0.0.0.0:PORT`, which browsers refuse,
 * so the link moves to `origin` (an address the caller knows reaches the server).
 */
export function onReachableOrigin(link: string, origin: string): string {
  const url = new URL(link);
  if (!WILDCARDS.has(url.hostname)) return link;
  const base = new URL(origin);
  url.protocol = base.protocol;
  url.host = base.host;
  return url.href;
}

/** This machine's addresses other machines may use: not loopback, not link-local (which needs a zone). */
export function machineAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && !i.internal)
    .map((i) => i!.address)
    .filter((a) => !/^fe[89ab]/i.test(a) && !a.startsWith('169.254.'));
}
