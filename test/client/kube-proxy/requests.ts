import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';

/** HTTPS to the loopback proxy from a chosen source address (which is who the caller is). */
export interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
  json: any;
}

export function call(
  base: string,
  ca: string,
  from: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string | string[]>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method, ca, localAddress: from, headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A streaming GET: hands each line on as it arrives; `stop()` ends it. */
export function stream(
  base: string,
  ca: string,
  from: string,
  path: string,
  onLine: (line: string) => void,
): Promise<{ status: number; stop: () => void }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { ca, localAddress: from, agent: false }, (res) => {
      let buffered = '';
      res.on('data', (c: Buffer) => {
        buffered += c.toString('utf8');
        let i;
        while ((i = buffered.indexOf('\n')) >= 0) {
          onLine(buffered.slice(0, i));
          buffered = buffered.slice(i + 1);
        }
      });
      res.on('error', () => undefined);
      resolve({ status: res.statusCode ?? 0, stop: () => req.destroy() });
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end();
  });
}

export async function until<T>(get: () => T | undefined, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
