import { createSocket, type Socket } from 'node:dgram';
import { decode, encode } from 'dns-packet';
import type { MeshNames } from './mesh-names.ts';

/**
 * A DNS server on UDP for the mesh's names (mesh-names.ts), bound to one address and port.
 * Answers are a few records, far below the 512 bytes plain UDP DNS allows, so there is no TCP.
 * A datagram that is not a DNS query gets FORMERR when it has a header to answer, else nothing.
 */
export class DnsServer {
  private names: MeshNames | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (msg, from) => {
      const reply = this.reply(msg);
      if (reply) socket.send(reply, from.port, from.address, () => undefined);
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

  /** What the next queries are answered from; none yet: every query is refused. */
  serve(names: MeshNames): void {
    this.names = names;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private reply(msg: Buffer): Buffer | undefined {
    if (msg.length < 12) return undefined;
    try {
      const query = decode(msg);
      if (query.type !== 'query') return undefined; // never answer an answer
      if (!this.names) return encode({ type: 'response', id: query.id ?? 0, flags: REFUSED, questions: query.questions ?? [] });
      return encode(this.names.answer(query));
    } catch {
      return encode({ type: 'response', id: msg.readUInt16BE(0), flags: FORMERR, questions: [] });
    }
  }
}

const FORMERR = 1;
const REFUSED = 5;
