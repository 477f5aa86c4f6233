import { REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME } from './constants.ts';
import { encodeTransport, type Transport } from './messages.ts';
import { aeadOpen, aeadSeal } from './primitives.ts';
import { ReplayWindow } from './replay-window.ts';
import type { TransportKeys } from './handshake.ts';

/**
 * One session's keys (whitepaper §5.4.6): the receiver index we chose, the one the peer chose,
 * a send counter and a replay window. A responder's key pair is unconfirmed until the first
 * authentic packet arrives under it; nothing is sent on it before that.
 */
export class Keypair {
  private sendCounter = 0n;
  private readonly replay = new ReplayWindow();
  confirmed = false;

  constructor(
    readonly localIndex: number,
    readonly remoteIndex: number,
    private readonly keys: TransportKeys,
    readonly createdAt: number,
  ) {}

  expired(now: number): boolean {
    return now - this.createdAt >= REJECT_AFTER_TIME;
  }

  /** The plaintext (empty for a keepalive), or undefined when replayed, too old or not authentic. */
  open(msg: Transport, now: number): Uint8Array | undefined {
    if (this.expired(now) || msg.counter >= REJECT_AFTER_MESSAGES) return undefined;
    const counter = Number(msg.counter);
    if (!this.replay.check(counter)) return undefined;
    const plain = aeadOpen(this.keys.receive, msg.counter, msg.ciphertext, new Uint8Array(0));
    if (!plain || !this.replay.accept(counter)) return undefined;
    this.confirmed = true;
    return plain;
  }

  /** A transport message carrying `plaintext` (already padded), or undefined if this pair may not send. */
  seal(plaintext: Uint8Array, now: number): Uint8Array | undefined {
    if (!this.confirmed || this.expired(now) || this.sendCounter >= REJECT_AFTER_MESSAGES) return undefined;
    const counter = this.sendCounter++;
    return encodeTransport({
      receiver: this.remoteIndex,
      counter,
      ciphertext: aeadSeal(this.keys.send, counter, plaintext, new Uint8Array(0)),
    });
  }
}
