import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import { portError } from '../port-error.ts';
import type { StunResponder } from './stun.ts';

/**
 * The second UDP port (`relay.stunPort`), answering only STUN Binding requests. A client asks
 * here and on the relay port from one socket: different public mappings mean its NAT maps by
 * destination, and direct paths then need the peer's NAT to be the easy kind.
 */
export class StunPort {
  private constructor(private readonly socket: Socket) {}

  /** Opens the port (0 picks one) early, so the map can name it; `start` answers. */
  static async bind(host: string, port: number): Promise<StunPort> {
    const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err) =>
        reject(portError(err, { protocol: 'UDP', host, port, setting: 'relay.stunPort', off: 'turns it off' })),
      );
      socket.bind(port, host, () => resolve());
    });
    return new StunPort(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  start(responder: StunResponder, logger?: Logger): void {
    this.socket.removeAllListeners('error');
    this.socket.on('error', (err) => logger?.warn({ err }, 'STUN UDP socket error'));
    this.socket.on('message', (packet, rinfo) => {
      const answer = responder.answer(new Uint8Array(packet.buffer, packet.byteOffset, packet.byteLength), rinfo);
      if (answer) this.socket.send(answer, rinfo.port, rinfo.address, ignoreSendError);
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

/** A lost answer is a lost probe; the client retries. */
function ignoreSendError(): void {}
