/** Reads server-sent events from a streaming answer, one event at a time, as EventSource would. */
export class EventStreamReader {
  private buffer = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(res: Response) {
    this.reader = res.body!.getReader();
  }

  /** The next event whose type passes `want`, with its data parsed; fails after `timeoutMs`. */
  async next(
    want: (type: string, data: any) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<{ type: string; data: any }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let end: number;
      while ((end = this.buffer.indexOf('\n\n')) >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (type && data !== undefined) {
          const parsed: unknown = JSON.parse(data);
          if (want(type, parsed)) return { type, data: parsed };
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no such event in time');
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no such event in time')), left)),
      ]);
      if (chunk.done) throw new Error('the event stream ended');
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }

  /** Whether the stream has ended (within `timeoutMs`). */
  async ended(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), left)),
      ]);
      if (chunk === 'timeout') return false;
      if (chunk.done) return true;
    }
  }

  close(): void {
    void this.reader.cancel().catch(() => {});
  }
}
