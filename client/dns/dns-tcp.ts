import { connect, type Socket } from 'node:net';

/**
 * DNS over TCP (RFC 1035 4.2.2, RFC 7766): each message is preceded by its length in two bytes,
 * big-endian. What a resolver uses when a UDP answer came back truncated (TC=1), so large answers
 * travel whole.
 */

/** Largest message a two-byte length can frame. */
const MAX_MESSAGE = 0xffff;

export function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  out.set(message, 2);
  return out;
}

/** Calls `onMessage` with each whole message read from `socket`, however the bytes were split. */
export function readFrames(socket: Socket, onMessage: (message: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const length = pending.readUInt16BE(0);
      if (pending.length < 2 + length) break;
      onMessage(pending.subarray(2, 2 + length));
      pending = pending.subarray(2 + length);
    }
  });
}

/** One query to `address`:`port` over TCP; its answer, or undefined on error or after `timeoutMs`. */
export function askTcp(
  address: string,
  port: number,
  query: Uint8Array,
  timeoutMs: number,
): Promise<Uint8Array | undefined> {
  if (query.length > MAX_MESSAGE) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    let finished = false;
    const done = (answer?: Uint8Array) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(), timeoutMs);
    socket.on('error', () => done());
    socket.on('close', () => done());
    socket.on('connect', () => socket.write(frame(query)));
    const id = (query[0]! << 8) | query[1]!;
    readFrames(socket, (msg) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id) done(msg);
    });
  });
}
