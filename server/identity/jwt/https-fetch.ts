import { request } from 'node:https';

interface FetchOptions {
  /** Extra trusted CA certificates (PEM), e.g. a cluster's CA. */
  ca?: string;
  timeoutMs?: number;
  maxBytes?: number;
}

/** GETs a small JSON document over HTTPS only, with a timeout and a size cap. */
export function fetchJson(url: string, options: FetchOptions = {}): Promise<unknown> {
  const { ca, timeoutMs = 10_000, maxBytes = 1 << 20 } = options;
  if (!url.startsWith('https://')) return Promise.reject(new Error(`${url}: only https:// URLs are fetched`));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'GET', ca, timeout: timeoutMs, headers: { accept: 'application/json' } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`${url} answered HTTP ${res.statusCode}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            req.destroy(new Error(`${url}: the answer is larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            reject(new Error(`${url}: the answer is not JSON`));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
