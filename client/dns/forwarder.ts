import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

/**
 * Sends the queries that are not the mesh's on to ordinary resolvers and returns their answers
 * as they are, so that a machine or pod may use the agent as its only nameserver. Each query
 * gets its own socket (a fresh random port: an off-path attacker must guess it as well as the
 * id); an upstream that stays silent for `timeoutMs` is passed over for the next.
 */
export class Forwarder {
  constructor(
    readonly upstreams: readonly string[],
    private readonly timeoutMs = 2_000,
  ) {}

  /** The first upstream answer to `query` (raw DNS message), or undefined if none came. */
  async forward(query: Uint8Array): Promise<Uint8Array | undefined> {
    for (const upstream of this.upstreams) {
      const answer = await this.ask(upstream, query);
      if (answer) return answer;
    }
    return undefined;
  }

  private ask(upstream: string, query: Uint8Array): Promise<Uint8Array | undefined> {
    const { address, port } = parseUpstream(upstream);
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
      socket.on('message', (msg, from) => {
        // Only the upstream asked, and only the answer to this query's id.
        if (from.address !== address || from.port !== port || msg.length < 12 || msg.readUInt16BE(0) !== ((query[0]! << 8) | query[1]!)) return;
        done(msg);
      });
      socket.send(query, port, address, (err) => err && done());
    });
  }
}

/** `1.1.1.1`, `1.1.1.1:5353`, `2001:db8::1` or `[2001:db8::1]:5353`. */
function parseUpstream(text: string): { address: string; port: number } {
  const bracketed = /^\[(.+)\]:(\d+)$/.exec(text);
  if (bracketed) return { address: bracketed[1]!, port: Number(bracketed[2]) };
  if (isIP(text)) return { address: text, port: 53 };
  const [address = '', port = '53'] = text.split(':');
  return { address, port: Number(port) };
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
