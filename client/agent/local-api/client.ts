import { request } from 'node:http';
import type { z } from 'zod';
import { AgentError } from '../errors.ts';
import { TrustBundle } from '../../../protocol/pki.ts';
import {
  CertificateAnswer,
  ErrorResponse,
  LoginStarted,
  LoginWaitResponse,
  StatusResponse,
  WhoisResponse,
  type LoginRequest,
  type UpRequest,
} from './messages.ts';
import { z as zod } from 'zod';
import type { NodeAuditReport } from '../../../protocol/node-audit.ts';

/** The CLI's side of the local API: one method per route, answers checked against the schemas. */
export class LocalApiClient {
  constructor(readonly socketPath: string) {}

  status(): Promise<z.infer<typeof StatusResponse>> {
    return this.call('GET', '/v1/status', StatusResponse);
  }

  up(req: UpRequest): Promise<z.infer<typeof StatusResponse>> {
    return this.call('POST', '/v1/up', StatusResponse, req, (req.waitMs ?? 15_000) + 30_000);
  }

  /** Starts a sign-in in the agent; answers with what the person must open. */
  login(req: LoginRequest): Promise<LoginStarted> {
    return this.call('POST', '/v1/login', LoginStarted, req);
  }

  waitLogin(id: string, waitMs = 25_000): Promise<LoginWaitResponse> {
    return this.call('POST', '/v1/login/wait', LoginWaitResponse, { id, waitMs }, waitMs + 30_000);
  }

  cancelLogin(id: string): Promise<{ cancelled: boolean }> {
    return this.call('DELETE', `/v1/login?id=${encodeURIComponent(id)}`, zod.object({ cancelled: zod.boolean() }));
  }

  down(): Promise<z.infer<typeof StatusResponse>> {
    return this.call('POST', '/v1/down', StatusResponse);
  }

  /** A certificate for this node's mesh name (or `names`), which the agent keeps renewed. */
  certificate(names?: string[]): Promise<CertificateAnswer> {
    return this.call('POST', '/v1/certificate', CertificateAnswer, names ? { names } : {});
  }

  /** The mesh CA's certificates, as the server gives them. */
  authorities(): Promise<TrustBundle> {
    return this.call('GET', '/v1/authorities', TrustBundle);
  }

  whois(ip: string): Promise<z.infer<typeof WhoisResponse>> {
    return this.call('GET', `/v1/whois?ip=${encodeURIComponent(ip)}`, WhoisResponse);
  }

  /** Hands audit events of a service on this node to the agent, which reports them to the server. */
  async reportAudit(report: NodeAuditReport): Promise<void> {
    await this.call('POST', '/v1/audit', zod.object({ reported: zod.literal(true) }), report);
  }

  private call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown, timeoutMs = 30_000): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {},
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let json: unknown;
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              return reject(
                new AgentError(
                  'agent.unavailable',
                  `the agent at ${this.socketPath} answered ${res.statusCode} with non-JSON`,
                ),
              );
            }
            if (res.statusCode !== 200) {
              const e = ErrorResponse.safeParse(json);
              return reject(
                e.success
                  ? Object.assign(new Error(e.data.message), { code: e.data.code })
                  : new AgentError('agent.unavailable', `the agent answered ${res.statusCode}`),
              );
            }
            const parsed = schema.safeParse(json);
            if (!parsed.success)
              return reject(
                new AgentError('agent.unavailable', `the agent's answer to ${path} does not match this CLI's version`),
              );
            resolve(parsed.data);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from the agent within ${timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        const hint =
          err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
            ? `no agent is running at ${this.socketPath}: start it with \`trellis agent\` (or pass --socket)`
            : err.code === 'EACCES'
              ? `permission denied on ${this.socketPath}: run as root or as a member of the socket's group`
              : `cannot talk to the agent at ${this.socketPath}: ${err.message}`;
        reject(new AgentError('agent.unavailable', hint, { cause: err }));
      });
      req.end(text);
    });
  }
}
