import type { Readable, Writable } from 'node:stream';

/** The side of an upstream answer the relay reads, as `IncomingMessage` has it. */
type Answer = Pick<Readable, 'on' | 'pause' | 'resume'>;
/** The side of the client's response the relay writes, as `ServerResponse` has it. */
type Response = Pick<Writable, 'cork' | 'uncork' | 'write' | 'end' | 'on' | 'writableLength'>;

/** Bytes that may wait to be written to a client before the answer is paused. */
export const RELAY_BUFFER = 1 << 20;

/**
 * `answer.pipe(res)`, but what arrives in one turn of the event loop goes out as one write. TLS
 * hands an answer over in 16 KB pieces, all in one turn; piped, each piece became a TLS record
 * and a system call of its own (and a wake-up of the client), because a pipe pauses as soon as
 * 16 KB wait to be written. Here the pieces are corked until the turn ends, and the answer is
 * paused only once RELAY_BUFFER bytes wait, so a slow client still holds back the API server.
 * A watch's events come one per turn and still go out as they come.
 */
export function relay(answer: Answer, res: Response): void {
  let corked = false;
  const uncork = () => {
    corked = false;
    res.uncork();
  };
  answer.on('data', (chunk: Buffer) => {
    if (!corked) {
      corked = true;
      res.cork();
      setImmediate(uncork);
    }
    res.write(chunk);
    if (res.writableLength > RELAY_BUFFER) answer.pause();
  });
  res.on('drain', () => answer.resume());
  answer.on('end', () => res.end());
}
