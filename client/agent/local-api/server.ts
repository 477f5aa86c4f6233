import { chmodSync, chownSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { z } from 'zod';
import type { Agent } from '../agent.ts';
import { AgentError } from '../errors.ts';
import { NodeAuditReport } from '../../../protocol/node-audit.ts';
import { CertificateAsk, LoginRequest, LoginWaitRequest, UpRequest } from './messages.ts';

/**
 * The agent's local API for the CLI: JSON over HTTP on a unix socket. Who may call it is decided
 * by the socket file itself (owner root, mode 0660, group `group` when given): the kernel refuses
 * anyone else before a byte arrives, so handlers are one call and JSON each. The one place that
 * maps errors to HTTP is `send` below.
 */
interface LocalApiOptions {
  socketPath: string;
  /** Group allowed to use the socket besides root (numeric gid). */
  gid?: number;
}

const MAX_BODY = 64 * 1024;

export class LocalApi {
  private server: Server | undefined;

  constructor(
    private readonly agent: Agent,
    private readonly options: LocalApiOptions,
  ) {}

  async listen(): Promise<void> {
    const { socketPath, gid } = this.options;
    if (await answers(socketPath)) {
      throw new AgentError(
        'agent.unavailable',
        `${socketPath} is served by another agent; stop it first (trellis agent runs once per state directory)`,
      );
    }
    rmSync(socketPath, { force: true });
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    chmodSync(socketPath, 0o660);
    if (gid !== undefined) chownSync(socketPath, 0, gid);
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections?.();
    rmSync(this.options.socketPath, { force: true });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://agent');
      const route = `${req.method} ${url.pathname}`;
      switch (route) {
        case 'GET /v1/status':
          return send(res, 200, await this.agent.status());
        case 'POST /v1/up':
          return send(res, 200, await this.agent.up(parse(UpRequest, await readJson(req))));
        case 'POST /v1/login':
          return send(res, 200, await this.agent.login(parse(LoginRequest, await readJson(req))));
        case 'POST /v1/login/wait': {
          const body = parse(LoginWaitRequest, await readJson(req));
          return send(res, 200, await this.agent.waitLogin(body.id, body.waitMs));
        }
        case 'DELETE /v1/login':
          return send(res, 200, { cancelled: this.agent.cancelLogin(url.searchParams.get('id') ?? undefined) });
        case 'POST /v1/down':
          return send(res, 200, await this.agent.down());
        case 'POST /v1/audit':
          await this.agent.reportAudit(parse(NodeAuditReport, await readJson(req)));
          return send(res, 200, { reported: true });
        case 'POST /v1/certificate':
          return send(res, 200, await this.agent.certificate(parse(CertificateAsk, await readJson(req)).names));
        case 'GET /v1/authorities':
          return send(res, 200, await this.agent.authorities());
        case 'GET /v1/whois':
          return send(res, 200, this.agent.whois(url.searchParams.get('ip') ?? ''));
        default:
          return send(res, 404, { code: 'agent.no_route', message: `no local API route ${route}` });
      }
    } catch (err) {
      return send(res, ...toHttp(err));
    }
  }
}

function toHttp(err: unknown): [number, { code: string; message: string }] {
  if (err instanceof AgentError) {
    const status =
      { 'agent.bad_request': 400, 'agent.not_found': 404, 'agent.not_logged_in': 409, 'agent.join_failed': 502 }[
        err.code as string
      ] ?? 500;
    return [status, { code: err.code, message: err.message }];
  }
  const code = (err as { code?: unknown }).code;
  return [
    500,
    {
      code: typeof code === 'string' ? code : 'agent.internal',
      message: err instanceof Error ? err.message : String(err),
    },
  ];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function parse<T>(schema: z.ZodType<T>, json: unknown): T {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new AgentError('agent.bad_request', `${issue.path.join('.') || 'body'}: ${issue.message}`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new AgentError('agent.bad_request', `request body over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new AgentError('agent.bad_request', 'request body is not JSON');
  }
}

/** Whether something accepts connections on the socket (a stale file from a crash does not). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
