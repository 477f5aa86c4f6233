import { Duplex } from 'node:stream';
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { SPDY_DICTIONARY } from './spdy-dictionary.ts';

/**
 * The server side of a SPDY/3.1 session, as much as the kubelet's streaming protocols use
 * (port-forward, exec and attach over SPDY): the client opens streams (SYN_STREAM, with
 * compressed headers), each is answered (SYN_REPLY) and carries DATA both ways until each side
 * sends FIN; PING is answered, SETTINGS and WINDOW_UPDATE are read and ignored (the Go client
 * does no flow control either), RST_STREAM and GOAWAY end streams. Header blocks of both
 * directions are one zlib stream each, with the protocol's dictionary, for the whole session.
 */
const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const HEADERS = 8;
const FLAG_FIN = 1;
const MAX_DATA = 16 * 1024;

export class SpdyStream extends Duplex {
  constructor(
    readonly id: number,
    readonly headers: Map<string, string>,
    private readonly session: SpdySession,
  ) {
    super({ allowHalfOpen: true });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    for (let at = 0; at < chunk.length; at += MAX_DATA)
      this.session.data(this.id, chunk.subarray(at, at + MAX_DATA), 0);
    done();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.session.data(this.id, Buffer.alloc(0), FLAG_FIN);
    done();
  }
}

export class SpdySession {
  private buffered = Buffer.alloc(0);
  private readonly streams = new Map<number, SpdyStream>();
  private readonly inflate: Inflate = createInflate({ dictionary: SPDY_DICTIONARY });
  private readonly deflate: Deflate = createDeflate({ dictionary: SPDY_DICTIONARY });
  /** Frames are handled one after another: header blocks decompress asynchronously. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly io: Duplex,
    private readonly onStream: (stream: SpdyStream) => void,
  ) {
    io.on('data', (chunk: Buffer) => this.read(chunk));
    io.on('close', () => this.end());
    io.on('error', () => this.end());
  }

  data(id: number, payload: Buffer, flags: number): void {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(id & 0x7fffffff, 0);
    head.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
    if (this.io.writable) this.io.write(Buffer.concat([head, payload]));
  }

  private read(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 8) {
      const length = this.buffered.readUInt32BE(4) & 0xffffff;
      if (this.buffered.length < 8 + length) return;
      const frame = this.buffered.subarray(0, 8 + length);
      this.buffered = this.buffered.subarray(8 + length);
      this.chain = this.chain.then(() => this.frame(frame)).catch(() => void this.io.destroy());
    }
  }

  private async frame(f: Buffer): Promise<void> {
    const flags = f[4]!;
    if ((f[0]! & 0x80) === 0) {
      const stream = this.streams.get(f.readUInt32BE(0) & 0x7fffffff);
      if (!stream) return;
      if (f.length > 8) stream.push(f.subarray(8));
      if (flags & FLAG_FIN) stream.push(null);
      return;
    }
    const type = f.readUInt16BE(2);
    const body = f.subarray(8);
    switch (type) {
      case SYN_STREAM: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const headers = parseHeaderBlock(await zlibChunk(this.inflate, body.subarray(10)));
        const stream = new SpdyStream(id, headers, this);
        this.streams.set(id, stream);
        stream.once('close', () => this.streams.delete(id));
        await this.reply(id);
        if (flags & FLAG_FIN) stream.push(null);
        this.onStream(stream);
        return;
      }
      case HEADERS:
        await zlibChunk(this.inflate, body.subarray(4)); // keeps the decompressor in step
        return;
      case RST_STREAM:
        this.streams.get(body.readUInt32BE(0) & 0x7fffffff)?.destroy();
        return;
      case PING:
        this.io.write(f);
        return;
      case GOAWAY:
        this.io.end();
        return;
      default: // SETTINGS, WINDOW_UPDATE, NOOP, CREDENTIAL
    }
  }

  private async reply(id: number): Promise<void> {
    const block = await zlibChunk(this.deflate, Buffer.alloc(4)); // no headers
    const f = Buffer.alloc(12);
    f.writeUInt16BE(0x8003, 0);
    f.writeUInt16BE(SYN_REPLY, 2);
    f.writeUInt32BE(4 + block.length, 4);
    f.writeUInt32BE(id, 8);
    this.io.write(Buffer.concat([f, block]));
  }

  private end(): void {
    for (const s of this.streams.values()) s.destroy();
    this.streams.clear();
    this.inflate.close();
    this.deflate.close();
  }
}

/** One header block through the session's (de)compressor, flushed so it stands on its own. */
function zlibChunk(z: Inflate | Deflate, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const onData = (c: Buffer) => out.push(c);
    z.on('data', onData);
    z.once('error', reject);
    z.write(input);
    z.flush(constants.Z_SYNC_FLUSH, () => {
      z.off('data', onData);
      z.off('error', reject);
      resolve(Buffer.concat(out));
    });
  });
}

/** Count, then (name length, name, value length, value) pairs; names are lower case. */
function parseHeaderBlock(b: Buffer): Map<string, string> {
  const headers = new Map<string, string>();
  const n = b.readUInt32BE(0);
  let at = 4;
  const next = () => {
    const len = b.readUInt32BE(at);
    const s = b.toString('latin1', at + 4, at + 4 + len);
    at += 4 + len;
    return s;
  };
  for (let i = 0; i < n; i++) {
    const name = next();
    headers.set(name.toLowerCase(), next());
  }
  return headers;
}
