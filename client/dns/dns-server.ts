import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as NetSocket } from 'node:net';
import { decode, encode, RECURSION_DESIRED, type DecodedPacket } from 'dns-packet';
import { frame, readFrames } from './dns-tcp.ts';
import type { Forwarder } from './forwarder.ts';
import type { MeshNames } from './mesh-names.ts';

/**
 * A DNS server on UDP for the mesh's names (mesh-names.ts), bound to one address and port.
 * Other names go to the forwarder's upstreams when there is one, as they are (refused without).
 * Mesh answers are a few records, far below the 512 bytes plain UDP DNS allows. With `tcp` it
 * answers DNS over TCP on the same address and port as well (dns-tcp.ts), forwarding over TCP:
 * a forwarded answer too large for UDP reaches the asker truncated, and its retry over TCP then
 * gets it whole (the exit node's resolver, whose clients have no other way out). Split DNS (mesh
 * names only) never needs it.
 * A datagram that is not a DNS query gets FORMERR when it has a header to answer, else nothing.
 */
export class DnsServer {
  private names: MeshNames | undefined;
  private forwarder: Forwarder | undefined;
  private closed = false;
  private readonly connections = new Set<NetSocket>();

  private constructor(
    private readonly socket: Socket,
    private readonly tcp?: Server,
  ) {
    tcp?.on('connection', (conn) => {
      this.connections.add(conn);
      conn.on('close', () => this.connections.delete(conn));
      conn.on('error', () => undefined); // the asker went away; it retries
      conn.setTimeout(TCP_IDLE_MS, () => conn.destroy());
      readFrames(conn, (msg) => {
        void this.reply(msg, 'tcp')
          .then((reply) => {
            if (reply && !conn.destroyed) conn.write(frame(reply));
          })
          .catch(() => undefined);
      });
    });
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

  /** `tcp`: also DNS over TCP, on the port UDP got (`port` 0: a free one). */
  static async listen(address: string, port: number, options: { tcp?: boolean } = {}): Promise<DnsServer> {
    const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (!options.tcp) return new DnsServer(socket);
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(socket.address().port, address, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      socket.close();
      throw err;
    }
    return new DnsServer(socket, tcp);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** What the next queries are answered from (none yet: every query is refused), and forwarded to. */
  serve(names: MeshNames, forwarder?: Forwarder): void {
    this.names = names;
    this.forwarder = forwarder;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.tcp) {
      const tcp = this.tcp;
      await new Promise<void>((resolve) => {
        tcp.close(() => resolve());
        for (const conn of this.connections) conn.destroy();
      });
    }
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private async reply(msg: Buffer, transport: 'udp' | 'tcp' = 'udp'): Promise<Uint8Array | undefined> {
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
    return (await this.forwarder.forward(msg, transport)) ?? fail(SERVFAIL);
  }
}

/** A TCP asker that sends nothing for this long is let go (RFC 7766 suggests seconds). */
const TCP_IDLE_MS = 10_000;
const FORMERR = 1;
const SERVFAIL = 2;
const REFUSED = 5;
