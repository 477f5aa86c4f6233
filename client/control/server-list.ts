import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Backoff } from './backoff.ts';

/** One way to reach a replica: its URL, and the address its host name resolved to when it has several. */
export interface ServerTarget {
  url: string;
  /** Connect here (the URL's name still goes in Host and TLS SNI); absent: resolve the name as usual. */
  address?: string;
}

export interface ServerListOptions {
  /** Between rounds, once every target failed in a row. */
  backoff?: Backoff;
  random?: () => number;
  /** All addresses of a host name (default: the system resolver). */
  resolve?: (host: string) => Promise<string[]>;
}

/** Before trying the next target of a round: enough jitter that a fleet does not move in step. */
const MOVE_JITTER_MS = 250;

/**
 * The coordination server's replicas as the agent knows them: the URLs it was given (`--server`
 * repeated or a comma list), each name with several addresses expanded into one target per
 * address. Requests and the map stream go to the current target; a failure moves to the next,
 * at once (with a little jitter) while the round has untried targets, with exponential backoff
 * once all of them failed in a row. Any replica serves any node, so there is no preferred one:
 * a target that works is kept until it fails.
 */
export class ServerList {
  readonly urls: readonly string[];
  private targets: ServerTarget[];
  private index = 0;
  private failuresInRow = 0;
  private resolved = false;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly resolve: (host: string) => Promise<string[]>;

  constructor(urls: string | readonly string[], options: ServerListOptions = {}) {
    this.urls = typeof urls === 'string' ? [urls] : [...urls];
    if (this.urls.length === 0) throw new Error('a server list needs at least one URL');
    this.targets = this.urls.map((url) => ({ url }));
    this.random = options.random ?? Math.random;
    this.backoff = options.backoff ?? new Backoff(250, 30_000, this.random);
    this.resolve = options.resolve ?? ((host) => lookup(host, { all: true }).then((all) => all.map((a) => a.address)));
  }

  /** The target in use now. */
  get current(): ServerTarget {
    return this.targets[this.index]!;
  }

  /** How many targets a request may try before it gives up. */
  get size(): number {
    return this.targets.length;
  }

  /** The first URL: what the node's membership is known by (the same mesh as before, or another). */
  get primary(): string {
    return this.urls[0]!;
  }

  /**
   * The target to use, with names resolved to all their addresses at the start of each round
   * (a name that stops resolving keeps its previous targets).
   */
  async pick(): Promise<ServerTarget> {
    if (!this.resolved || (this.failuresInRow > 0 && this.index === 0)) await this.expand();
    return this.current;
  }

  /** `target` worked: stay on it. */
  succeeded(target: ServerTarget): void {
    if (target !== this.current) return;
    this.failuresInRow = 0;
    this.backoff.reset();
  }

  /**
   * `target` failed (unreachable, or a 5xx answer): moves to the next one. Returns how long to
   * wait before trying it: a short jitter within a round, the backoff once the round is over.
   */
  failed(target: ServerTarget): number {
    if (target !== this.current) return this.jitter(); // someone else already moved on
    this.index = (this.index + 1) % this.targets.length;
    this.failuresInRow++;
    if (this.failuresInRow % this.targets.length === 0) return this.backoff.next();
    return this.jitter();
  }

  private jitter(): number {
    return Math.round(this.random() * MOVE_JITTER_MS);
  }

  private async expand(): Promise<void> {
    this.resolved = true;
    const current = this.current;
    const expanded: ServerTarget[] = [];
    for (const url of this.urls) {
      const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
      const addresses = isIP(host) ? [] : await this.resolve(host).catch(() => undefined);
      if (addresses === undefined) expanded.push(...this.targets.filter((t) => t.url === url));
      else if (addresses.length <= 1) expanded.push({ url });
      else expanded.push(...[...new Set(addresses)].map((address) => ({ url, address })));
    }
    this.targets = expanded.length > 0 ? expanded : this.urls.map((url) => ({ url }));
    const same = this.targets.findIndex((t) => t.url === current.url && t.address === current.address);
    this.index = same >= 0 ? same : Math.min(this.index, this.targets.length - 1);
  }
}

/** A `lookup` for node:http and ws that connects to one known address whatever the name. */
export function pinnedLookup(address: string) {
  const family = isIP(address);
  return (
    _host: string,
    options: { all?: boolean },
    callback: (err: Error | null, address: string | { address: string; family: number }[], family?: number) => void,
  ): void => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}
