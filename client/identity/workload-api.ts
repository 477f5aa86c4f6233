import { credentials, Client, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { CredentialSourceError } from './errors.ts';
import { checkJwtShape } from './jwt-shape.ts';
import type { TokenSource } from './token-source.ts';
import { decodeJwtSvidResponse, encodeJwtSvidRequest, FETCH_JWT_SVID, type JwtSvid } from './workload-api-proto.ts';

/**
 * JWT-SVIDs from the SPIFFE Workload API (SPIRE's agent, for one): gRPC over a unix socket,
 * `FetchJWTSVID` with the `workload.spiffe.io: true` metadata that every call must carry. The
 * API issues a fresh SVID as the last one ages, so the agent asks again halfway to the node's
 * expiry (WorkloadRenewal's schedule); it has no change events.
 */
interface WorkloadApiOptions {
  /** `unix:///run/spire/sockets/agent.sock` (SPIFFE_ENDPOINT_SOCKET's form). */
  endpoint: string;
  audience: string;
  /** Ask for this identity when the workload has several; the first one otherwise. */
  spiffeId?: string;
  timeoutMs?: number;
}

export class WorkloadApiSource implements TokenSource {
  readonly description: string;
  readonly pollMs = Number.POSITIVE_INFINITY;
  private client: Client | undefined;

  constructor(private readonly o: WorkloadApiOptions) {
    this.description = `SPIFFE Workload API at ${o.endpoint}`;
  }

  async read(): Promise<string> {
    const svids = await this.fetch();
    const svid = this.o.spiffeId ? svids.find((s) => s.spiffeId === this.o.spiffeId) : svids[0];
    if (!svid) {
      throw new CredentialSourceError(
        'workload_api.bad_answer',
        `the ${this.description} returned no JWT-SVID${this.o.spiffeId ? ` for ${this.o.spiffeId}` : ''}${svids.length ? ` (it has ${svids.map((s) => s.spiffeId).join(', ')})` : ''}`,
      );
    }
    checkJwtShape(svid.svid, `the JWT-SVID from the ${this.description}`);
    return svid.svid;
  }

  watch(): () => void {
    return () => undefined;
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }

  private fetch(): Promise<JwtSvid[]> {
    this.client ??= new Client(this.o.endpoint, credentials.createInsecure());
    const metadata = new Metadata();
    metadata.set('workload.spiffe.io', 'true');
    const deadline = Date.now() + (this.o.timeoutMs ?? 10_000);
    return new Promise((resolve, reject) => {
      this.client!.makeUnaryRequest(
        FETCH_JWT_SVID,
        (req: Buffer) => req,
        (res: Buffer) => decodeJwtSvidResponse(res),
        encodeJwtSvidRequest({ audience: [this.o.audience], ...(this.o.spiffeId && { spiffeId: this.o.spiffeId }) }),
        metadata,
        { deadline },
        (err: ServiceError | null, svids?: JwtSvid[]) => {
          if (!err) return resolve(svids ?? []);
          const unavailable = err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.DEADLINE_EXCEEDED;
          reject(
            new CredentialSourceError(
              unavailable ? 'workload_api.unavailable' : 'workload_api.refused',
              unavailable
                ? `nothing answers at the ${this.description}: ${err.details}`
                : `the ${this.description} refused: ${GrpcStatus[err.code]}: ${err.details}`,
              { cause: err },
            ),
          );
        },
      );
    });
  }
}
