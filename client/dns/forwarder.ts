import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { askTcp } from './dns-tcp.ts';

/**
 * Sends the queries that are not the mesh's on to ordinary resolvers and returns their
 * answers as they are, so that a machine or pod may use the agent as its nameserver. Each query
 * gets its own connected socket: a fresh random port that an off-path attacker must guess as
 * well as the id, and only the upstream asked can answer it. An upstream that stays silent for
 * `timeoutMs` is passed over for the next. At most MAX_IN_FLIGHT queries wait at once.
 */
const MAX_IN_FLIGHT = 256;

export class Forwarder {
  readonly upstreams: readonly string[];
  private inFlight = 0;

  private readonly port: number;
  private readonly timeoutMs: number;

  /** `upstreams`: IP addresses (anything else is left out), asked on `port` (53). */
  constructor(upstreams: readonly string[], options: { port?: number; timeoutMs?: number } = {}) {
    this.upstreams = upstreams.filter((u) => isIP(u) !== 0);
    this.port = options.port ?? 53;
    this.timeoutMs = options.timeoutMs ?? 2_000;
  }

  /**
   * The first upstream answer to `query` (raw DNS message), or undefined if none came. A query
   * that came over TCP goes on over TCP: the asker retried there for an answer too large for UDP.
   */
  async forward(query: Uint8Array, transport: 'udp' | 'tcp' = 'udp'): Promise<Uint8Array | undefined> {
    if (this.inFlight >= MAX_IN_FLIGHT) return undefined;
    this.inFlight++;
    try {
      for (const upstream of this.upstreams) {
        const answer =
          transport === 'tcp'
            ? await askTcp(upstream, this.port, query, this.timeoutMs)
            : await this.ask(upstream, query);
        if (answer) return answer;
      }
      return undefined;
    } finally {
      this.inFlight--;
    }
  }

  private ask(address: string, query: Uint8Array): Promise<Uint8Array | undefined> {
    const id = (query[0]! << 8) | query[1]!;
    const socket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
    return new Promise((resolve) => {
      let finished = false;
      const done = (answer?: Uint8Array) => {
        if (finished) return; // an answer, an error and the timer may all come
        finished = true;
        clearTimeout(timer);
        socket.close();
        resolve(answer);
      };
      const timer = setTimeout(() => done(), this.timeoutMs);
      socket.on('error', () => done());
      socket.on('message', (msg) => {
        if (msg.length >= 12 && msg.readUInt16BE(0) === id) done(msg);
      });
      socket.connect(this.port, address, () => socket.send(query, (err) => err && done()));
    });
  }
}

/**
 * The nameservers of a resolv.conf text, in order, without `exclude` (our own address: forwarding
 * to ourselves would loop).
 */
export function resolvConfNameservers(text: string, exclude: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const address = /^\s*nameserver\s+(\S+)/.exec(line)?.[1]; // a link-local one keeps its zone (fe80::1%eth0)
    if (address && isIP(address) && !exclude.includes(address) && !out.includes(address)) out.push(address);
  }
  return out;
}
