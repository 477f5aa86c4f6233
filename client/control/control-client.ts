import { signProof } from '../../protocol/proof.ts';
import { NodeResponse, type RegisterRequest, type UpdateSelfRequest } from '../../protocol/join.ts';
import { CertificateResponse, TrustBundle, type CertificateRequest } from '../../protocol/pki.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { SelfNode } from '../../protocol/node.ts';
import type { ErrorCode } from '../../protocol/coded-error.ts';
import { ControlError } from './control-error.ts';
import { machinePublicKeyOf } from './machine-key.ts';
import { send, type HttpAnswer } from './http-send.ts';
import { ServerList } from './server-list.ts';

/** Control requests to the coordination server, each signed with the machine key. */
export class ControlClient {
  readonly machineKey: string;
  private readonly privateKey: Uint8Array;

  /** The replicas this client may use; a failed one is left for the next (server-list.ts). */
  readonly servers: ServerList;

  constructor(servers: ServerList | string | readonly string[], machinePrivateKey: string) {
    this.servers = servers instanceof ServerList ? servers : new ServerList(servers);
    this.privateKey = new Uint8Array(Buffer.from(machinePrivateKey, 'base64'));
    this.machineKey = machinePublicKeyOf(machinePrivateKey);
  }

  /** The URL of the replica in use now. */
  get serverUrl(): string {
    return this.servers.current.url;
  }

  async register(req: Omit<RegisterRequest, 'machineKey' | 'protocolVersion'>): Promise<SelfNode> {
    const body = { ...req, machineKey: this.machineKey, protocolVersion: PROTOCOL_VERSION };
    return NodeResponse.parse(await this.request('POST', '/api/v1/machine/register', body)).node;
  }

  async self(): Promise<SelfNode> {
    return NodeResponse.parse(await this.request('GET', '/api/v1/machine/self')).node;
  }

  async rotateKey(wireguardKey: string): Promise<SelfNode> {
    return NodeResponse.parse(await this.request('POST', '/api/v1/machine/rotate-key', { wireguardKey })).node;
  }

  async update(update: UpdateSelfRequest): Promise<SelfNode> {
    return NodeResponse.parse(await this.request('POST', '/api/v1/machine/update', update)).node;
  }

  async logout(): Promise<void> {
    await this.request('POST', '/api/v1/machine/logout');
  }

  /** The mesh CA's certificates (the trust bundle clients of this node's services need). */
  async authorities(): Promise<TrustBundle> {
    return TrustBundle.parse(await this.request('GET', '/api/v1/machine/authorities'));
  }

  /** A certificate for names of this node, for the key of the CSR. */
  async certificate(req: CertificateRequest): Promise<CertificateResponse> {
    return CertificateResponse.parse(await this.request('POST', '/api/v1/machine/certificate', req));
  }

  /** The Authorization header for a request; also used to open the map stream. */
  proof(method: string, pathWithQuery: string, body?: Uint8Array): string {
    return signProof({ machinePrivateKey: this.privateKey, method, pathWithQuery, body });
  }

  /**
   * One request, to the current replica; one that cannot be reached or answers 5xx is left for
   * the next, until each was tried once. The last failure is what the caller sees.
   */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const bytes = body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
    for (let tried = 1; ; tried++) {
      const target = await this.servers.pick();
      let res: HttpAnswer;
      try {
        res = await send(
          target,
          method,
          path,
          {
            authorization: this.proof(method, path, bytes),
            ...(body !== undefined && { 'content-type': 'application/json' }),
          },
          body === undefined ? undefined : bytes,
        );
      } catch (err) {
        const last = tried >= this.servers.size;
        this.servers.failed(target);
        if (!last) continue;
        throw new ControlError(
          'server.unreachable',
          `cannot reach ${target.url}: ${(err as Error).message}`,
          undefined,
          {
            cause: err,
          },
        );
      }
      if (res.status < 500) this.servers.succeeded(target);
      else {
        this.servers.failed(target);
        if (tried < this.servers.size) continue;
      }
      return answerOf(res);
    }
  }
}

function answerOf(res: HttpAnswer): unknown {
  if (res.status === 204) return undefined;
  let json: Record<string, unknown>;
  try {
    json = res.text ? JSON.parse(res.text) : {};
  } catch {
    throw new ControlError('server.bad_answer', `the server answered ${res.status} with non-JSON`, res.status);
  }
  if (res.status < 200 || res.status >= 300)
    throw new ControlError(
      answerCode(json.code),
      typeof json.message === 'string' ? json.message : `the server answered ${res.status} ${res.statusText}`,
      res.status,
    );
  return json;
}

/** The code of a refusal as the server sent it; an answer without one is not a Trellis answer. */
export function answerCode(code: unknown): ErrorCode {
  return typeof code === 'string' && /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/.test(code)
    ? (code as ErrorCode)
    : 'server.bad_answer';
}
