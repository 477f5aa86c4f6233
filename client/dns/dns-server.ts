import { createSocket, type Socket } from 'node:dgram';
import { decode, encode, RECURSION_DESIRED, type DecodedPacket } from 'dns-packet';
import type { Forwarder } from './forwarder.ts';
import type { MeshNames } from './mesh-names.ts';

/**
 * A DNS server on UDP for the mesh's names (mesh-names.ts), bound to one address and port.
 * Other names go to the forwarder's upstreams when there is one, as they are (refused without).
 * Mesh answers are a few records, far below the 512 bytes plain UDP DNS allows. There is no TCP:
 * a forwarded answer too large for UDP reaches the asker truncated, and its retry over TCP is
 * refused; split DNS (mesh names only) never needs it.
 * A datagram that is not a DNS query gets FORMERR when it has a header to answer, else nothing.
 */
export class DnsServer {
  private names: MeshNames | undefined;
  private forwarder: Forwarder | undefined;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (msg, from) => {
      void this.reply(msg)
        .then((reply) => {
          // A forwarded answer may come back after close(); sending then would throw.
          if (reply && !this.closed) socket.send(reply, from.port, from.address, () => undefined);
        })
        .catch(() => undefined); // a query nothing could answer is retried by the asker
    });
    socket.on('error', () => undefined); // a lost answer is retried by the asker
  }

  static async listen(address: string, port: number): Promise<DnsServer> {
    const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new DnsServer(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** What the next queries are answered from (none yet: every query is refused), and forwarded to. */
  serve(names: MeshNames, forwarder?: Forwarder): void {
    this.names = names;
    this.forwarder = forwarder;
  }

  close(): Promise<void> {
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private async reply(msg: Buffer): Promise<Uint8Array | undefined> {
    if (msg.length < 12 || (msg[2]! & 0x80) !== 0) return undefined; // never answer an answer
    let query: DecodedPacket;
    try {
      query = decode(msg);
    } catch {
      return encode({ type: 'response', id: msg.readUInt16BE(0), flags: FORMERR, questions: [] });
    }
    const fail = (rcode: number) =>
      encode({
        type: 'response',
        id: query.id ?? 0,
        flags: rcode | ((query.flags ?? 0) & RECURSION_DESIRED),
        questions: query.questions ?? [],
      });
    if (!this.names) return fail(REFUSED);
    const name = query.questions?.length === 1 ? query.questions[0]!.name : undefined;
    if (name === undefined || this.names.owns(name) || !this.forwarder) return encode(this.names.answer(query));
    return (await this.forwarder.forward(msg)) ?? fail(SERVFAIL);
  }
}

const FORMERR = 1;
const SERVFAIL = 2;
const REFUSED = 5;
