/**
 * How an answer is relayed to the client: what arrives in one turn of the event loop is written
 * as one, and a client that cannot keep up pauses the answer once the relay buffer is full.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { RELAY_BUFFER, relay } from '../../../client/kube-proxy/relay.ts';

class FakeAnswer extends EventEmitter {
  paused = false;
  pause() {
    this.paused = true;
    return this;
  }
  resume() {
    this.paused = false;
    return this;
  }
}

/** A response that records what happened to it, in order; `writableLength` is what it holds unsent. */
class FakeResponse extends EventEmitter {
  log: string[] = [];
  writableLength = 0;
  private corks = 0;
  cork() {
    this.corks++;
    this.log.push('cork');
  }
  uncork() {
    this.corks--;
    this.log.push('uncork');
  }
  write(chunk: Buffer) {
    this.log.push(`write ${chunk.length}${this.corks > 0 ? ' corked' : ''}`);
    this.writableLength += chunk.length;
    return this.writableLength < 16 * 1024;
  }
  end() {
    this.log.push('end');
    return this;
  }
}

const turn = () => new Promise((r) => setImmediate(r));

describe('relaying an answer', () => {
  it('writes the pieces that arrive in one turn while corked, and uncorks once, when the turn ends', async () => {
    const answer = new FakeAnswer();
    const res = new FakeResponse();
    relay(answer as never, res as never);
    for (const n of [16_384, 16_384, 14_270]) answer.emit('data', Buffer.alloc(n));
    expect(res.log).toEqual(['cork', 'write 16384 corked', 'write 16384 corked', 'write 14270 corked']);
    await turn();
    expect(res.log.slice(4)).toEqual(['uncork']);
    // The next turn's piece (a watch event) is corked and sent on its own.
    answer.emit('data', Buffer.alloc(100));
    await turn();
    expect(res.log.slice(5)).toEqual(['cork', 'write 100 corked', 'uncork']);
    answer.emit('end');
    expect(res.log.at(-1)).toBe('end');
  });

  it("keeps reading past the socket's 16 KB mark, pauses the answer once the relay buffer is full, and resumes it on drain", () => {
    const answer = new FakeAnswer();
    const res = new FakeResponse();
    relay(answer as never, res as never);
    answer.emit('data', Buffer.alloc(64 * 1024));
    expect(answer.paused).toBe(false);
    while (res.writableLength <= RELAY_BUFFER) answer.emit('data', Buffer.alloc(64 * 1024));
    expect(answer.paused).toBe(true);
    res.writableLength = 0;
    res.emit('drain');
    expect(answer.paused).toBe(false);
  });
});
