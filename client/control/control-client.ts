import { signProof } from '../../protocol/proof.ts';
import { NodeResponse, type RegisterRequest, type UpdateSelfRequest } from '../../protocol/join.ts';
import { CertificateResponse, TrustBundle, type CertificateRequest } from '../../protocol/pki.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { SelfNode } from '../../protocol/node.ts';
import type { ErrorCode } from '../../protocol/coded-error.ts';
import { ControlError } from './control-error.ts';
import { machinePublicKeyOf } from './machine-key.ts';

/** Control requests to the coordination server, each signed with the machine key. */
export class ControlClient {
  readonly machineKey: string;
  private readonly privateKey: Uint8Array;

  constructor(
    readonly serverUrl: string,
    machinePrivateKey: string,
  ) {
    this.privateKey = new Uint8Array(Buffer.from(machinePrivateKey, 'base64'));
    this.machineKey = machinePublicKeyOf(machinePrivateKey);
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

  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const bytes = body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
    let res: Response;
    try {
      res = await fetch(new URL(path, this.serverUrl), {
        method,
        headers: {
          authorization: this.proof(method, path, bytes),
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : bytes,
      });
    } catch (err) {
      throw new ControlError(
        'server.unreachable',
        `cannot reach ${this.serverUrl}: ${String((err as Error).cause ?? (err as Error).message)}`,
        undefined,
        { cause: err },
      );
    }
    if (res.status === 204) return undefined;
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new ControlError('server.bad_answer', `the server answered ${res.status} with non-JSON`, res.status);
    }
    if (!res.ok)
      throw new ControlError(
        answerCode(json.code),
        typeof json.message === 'string' ? json.message : `the server answered ${res.status} ${res.statusText}`,
        res.status,
      );
    return json;
  }
}

/** The code of a refusal as the server sent it; an answer without one is not a Trellis answer. */
export function answerCode(code: unknown): ErrorCode {
  return typeof code === 'string' && /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/.test(code)
    ? (code as ErrorCode)
    : 'server.bad_answer';
}
