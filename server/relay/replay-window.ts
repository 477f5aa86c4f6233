/**
 * The sliding window that drops replayed or too-old transport counters (whitepaper §5.4.6,
 * RFC 6479 style): a ring of bits behind the highest counter seen. `check` before decrypting,
 * `accept` only once the packet proved authentic, so forged counters cannot move the window.
 * Counters are JS numbers: a key pair lives at most three minutes, far below 2^53 messages.
 */
const WORD_BITS = 32;
const WORDS = 256;
const RING_BITS = WORD_BITS * WORDS;
/** How far behind the highest counter a packet may still arrive (one word is the slack). */
export const WINDOW_SIZE = RING_BITS - WORD_BITS;

export class ReplayWindow {
  private readonly ring = new Uint32Array(WORDS);
  private highest = -1;

  check(counter: number): boolean {
    if (!Number.isSafeInteger(counter) || counter < 0) return false;
    if (counter > this.highest) return true;
    if (this.highest - counter >= WINDOW_SIZE) return false;
    return (this.ring[wordOf(counter)]! & bitOf(counter)) === 0;
  }

  /** Marks `counter` seen; false (and nothing changes) when `check` would refuse it. */
  accept(counter: number): boolean {
    if (!this.check(counter)) return false;
    if (counter > this.highest) {
      const from = Math.floor(this.highest / WORD_BITS) + 1;
      const to = Math.floor(counter / WORD_BITS);
      // Words the window slides over are forgotten; at most the whole ring.
      for (let w = from; w <= to && w < from + WORDS; w++) this.ring[((w % WORDS) + WORDS) % WORDS] = 0;
      this.highest = counter;
    }
    this.ring[wordOf(counter)]! |= bitOf(counter);
    return true;
  }
}

const wordOf = (c: number) => Math.floor(c / WORD_BITS) % WORDS;
const bitOf = (c: number) => (1 << (c % WORD_BITS)) >>> 0;
