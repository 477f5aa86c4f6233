import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { PATH_PROBE_BYTES, PATH_PROBE_MAGIC, PATH_PROBE_PORT, PathProbeType } from '../../protocol/path-probe.ts';

/**
 * The path probe (protocol/path-probe.ts): answers peers' echo requests on this node's mesh
 * addresses and sends our own. Bound to the mesh addresses only, never to the wildcard, so the
 * port exists for peers in the tunnel and for nobody on the machine's other links.
 */
export class PathEcho {
  private readonly sockets = new Map<string, Socket>();
  private readonly waiting = new Map<
    string,
    { resolve: (rtt: number | undefined) => void; sentAt: number; timer: NodeJS.Timeout }
  >();

  constructor(private readonly port = PATH_PROBE_PORT) {}

  /** Binds to exactly these addresses (mesh IPv4 and IPv6), closing sockets for others. */
  async bind(addresses: readonly string[]): Promise<void> {
    for (const [address, socket] of this.sockets) {
      if (!addresses.includes(address)) {
        this.sockets.delete(address);
        socket.close();
      }
    }
    for (const address of addresses) {
      if (this.sockets.has(address)) continue;
      const socket = await open(address, this.port).catch(() => undefined);
      if (!socket) continue; // the address is not up yet; the next bind tries again
      socket.on('message', (packet, from) => this.onMessage(socket, packet, from.address, from.port));
      this.sockets.set(address, socket);
    }
  }

  get bound(): boolean {
    return this.sockets.size > 0;
  }

  /** Round-trip time to `peerIp` in ms, or undefined when no reply came within `timeoutMs`. */
  ping(peerIp: string, timeoutMs: number): Promise<number | undefined> {
    const socket = [...this.sockets.entries()].find(([a]) => a.includes(':') === peerIp.includes(':'))?.[1];
    if (!socket) return Promise.resolve(undefined);
    const id = randomBytes(8);
    const key = id.toString('hex');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(key, { resolve, sentAt: performance.now(), timer });
      socket.send(packet(PathProbeType.request, id), this.port, peerIp, () => undefined);
    });
  }

  /**
   * The path's latency: the least round trip of `count` probes sent `gapMs` apart. A probe's
   * round trip is the path plus however long either agent's event loop was busy before it saw
   * the packet (a map being applied, a device read): one probe after a path change often
   * measured 10-50 ms on a path ping shows at under a millisecond. The quickest of a few,
   * spread over a moment, is the path itself, as ping's minimum is.
   */
  async latency(peerIp: string, { count = 5, gapMs = 50, timeoutMs = 1_000 } = {}): Promise<number | undefined> {
    let least: number | undefined;
    for (let i = 0; i < count; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
      const rtt = await this.ping(peerIp, timeoutMs);
      if (rtt !== undefined && (least === undefined || rtt < least)) least = rtt;
    }
    return least;
  }

  close(): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.resolve(undefined);
    }
    this.waiting.clear();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  private onMessage(socket: Socket, data: Buffer, address: string, port: number): void {
    if (data.length !== PATH_PROBE_BYTES || data.readUInt32BE(0) !== PATH_PROBE_MAGIC || data.readUIntBE(5, 3) !== 0)
      return;
    const type = data[4];
    const id = data.subarray(8);
    if (type === PathProbeType.request) {
      socket.send(packet(PathProbeType.reply, id), port, address, () => undefined);
    } else if (type === PathProbeType.reply) {
      const key = id.toString('hex');
      const w = this.waiting.get(key);
      if (!w) return;
      this.waiting.delete(key);
      clearTimeout(w.timer);
      w.resolve(performance.now() - w.sentAt);
    }
  }
}

function packet(type: number, id: Uint8Array): Buffer {
  const b = Buffer.alloc(PATH_PROBE_BYTES);
  b.writeUInt32BE(PATH_PROBE_MAGIC, 0);
  b[4] = type;
  b.set(id, 8);
  return b;
}

function open(address: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
  return new Promise((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind(port, address, () => {
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}
