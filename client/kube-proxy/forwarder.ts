import { Agent, request, type RequestOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { downstreamHeaders, type RawHeaders } from './headers.ts';
import { sendStatus, sendStatusOnSocket } from './kube-status.ts';
import { relay } from './relay.ts';
import type { Upstream } from './upstream.ts';

/**
 * Carries one request to the API server and its answer back, as a stream in both directions:
 * nothing is buffered, so a watch or `logs -f` delivers each chunk as it comes, and a list of
 * any size costs no memory. `onStatus` fires once, when the answer's status is known (a watch's
 * answer never ends, so that is when it is audited). The client going away ends the upstream
 * request, so an abandoned watch does not live on at the API server.
 *
 * An upgrade (exec, attach, port-forward: WebSocket or SPDY) opens a TLS connection of its own,
 * writes the rewritten request head, and from then on joins the two sockets byte for byte; the
 * protocol inside is the client's and the API server's business.
 */
export class Forwarder {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(private readonly upstream: Upstream) {
    this.host = upstream.url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(upstream.url.port || 443);
    // Connections to the API server are kept and reused (TLS set up once per connection, not
    // per call), with Nagle off: an answer's last segment must not wait for an acknowledgement.
    this.agent = new Agent({ keepAlive: true, maxFreeSockets: 64, noDelay: true, ...this.tls() });
  }

  /** The Host header upstream expects. */
  get hostHeader(): string {
    return this.upstream.url.host;
  }

  authorization(): string | undefined {
    return this.upstream.authorization();
  }

  http(req: IncomingMessage, res: ServerResponse, headers: RawHeaders, onStatus: (status: number) => void): void {
    const options: RequestOptions = {
      agent: this.agent,
      host: this.host,
      port: this.port,
      method: req.method,
      path: this.path(req.url),
      headers,
      ...this.tls(),
    };
    const up = request(options);
    let answered = false;
    up.on('response', (answer) => {
      answered = true;
      const status = answer.statusCode ?? 502;
      res.writeHead(status, answer.statusMessage, downstreamHeaders(answer));
      // A stream (watch, logs -f) has no length: its head goes out now, not with the first event.
      if (answer.headers['content-length'] === undefined) res.flushHeaders();
      onStatus(status);
      relay(answer, res);
      answer.on('error', () => res.destroy());
    });
    up.on('error', (err) => {
      if (answered || res.headersSent) return void res.destroy();
      onStatus(502);
      sendStatus(
        res,
        502,
        'kube_proxy.upstream_unreachable',
        `the Kubernetes API server did not answer: ${err.message}`,
      );
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    // Most calls (get, list, watch, delete) have no body: the head goes out at once, without
    // a pipe's machinery waiting for an end that is already known.
    if (hasNoBody(req)) {
      req.resume();
      up.end();
    } else req.pipe(up);
  }

  upgrade(
    req: IncomingMessage,
    client: Duplex,
    head: Buffer,
    headers: RawHeaders,
    onStatus: (status: number) => void,
  ): void {
    const up: TLSSocket = connect({
      host: this.host,
      port: this.port,
      servername: this.upstream.serverName ?? (isIp(this.host) ? undefined : this.host),
      ALPNProtocols: ['http/1.1'],
      ...this.tls(),
    });
    let joined = false;
    up.setNoDelay(true);
    const close = () => {
      client.destroy();
      up.destroy();
    };
    up.once('secureConnect', () => {
      up.write(requestHead(req.method ?? 'GET', this.path(req.url), headers));
      if (head.length > 0) up.write(head);
      up.once('data', (first: Buffer) => {
        joined = true;
        onStatus(statusOf(first));
        client.write(first);
        up.pipe(client);
        client.pipe(up);
      });
    });
    up.on('error', (err) => {
      if (joined) return close();
      onStatus(502);
      sendStatusOnSocket(
        client,
        502,
        'kube_proxy.upstream_unreachable',
        `the Kubernetes API server did not answer: ${err.message}`,
      );
      up.destroy();
    });
    up.on('close', () => client.destroy());
    client.on('error', close);
    client.on('close', () => up.destroy());
  }

  close(): void {
    this.agent.destroy();
  }

  private path(url: string | undefined): string {
    const base = this.upstream.url.pathname.replace(/\/$/, '');
    return `${base}${url ?? '/'}`;
  }

  private tls() {
    return {
      ...(this.upstream.ca !== undefined && { ca: this.upstream.ca }),
      ...(this.upstream.clientCert && { cert: this.upstream.clientCert.cert, key: this.upstream.clientCert.key }),
      ...(this.upstream.serverName !== undefined && { servername: this.upstream.serverName }),
    };
  }
}

function requestHead(method: string, path: string, headers: RawHeaders): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}

function statusOf(first: Buffer): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(first.subarray(0, 16).toString('latin1'));
  return m ? Number(m[1]) : 502;
}

function hasNoBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0';
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
