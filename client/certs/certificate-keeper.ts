import type { Logger } from 'pino';
import type { CertificateRequest, CertificateResponse, TrustBundle } from '../../protocol/pki.ts';
import { AgentError } from '../agent/errors.ts';
import { newKeyAndRequest, type KeyAndRequest } from './key-and-request.ts';

/** A certificate the agent holds for a local service, with its key. */
export interface KeptCertificate {
  names: string[];
  certificate: string;
  /** PKCS#8 PEM. Only in memory, and in the answer to whoever may use the agent's socket. */
  key: string;
  authorities: string[];
  notBefore: number;
  notAfter: number;
  /** From then on the agent fetches a new one (a third of its life before the end). */
  renewAfter: number;
}

interface KeeperOptions {
  /** Asks the server: the node's control client's calls, absent while the node has no server. */
  server: () =>
    | { certificate(req: CertificateRequest): Promise<CertificateResponse>; authorities(): Promise<TrustBundle> }
    | undefined;
  logger: Logger;
  now?: () => number;
  /** How often kept certificates are checked for renewal (default a minute). */
  checkMs?: number;
  makeKey?: () => Promise<KeyAndRequest>;
}

/**
 * The agent's certificates for local services (the Kubernetes API proxy, anything serving TLS
 * under the node's mesh name). The first request for a set of names fetches a certificate with
 * a fresh key; later ones get the same until a third of its life is left, and from then on the
 * keeper renews it by itself, with a new key, each minute until that works. A failed renewal
 * keeps the old certificate, which is still valid: a server that is away for hours costs nothing.
 * Keys live only in memory: a restarted agent fetches anew when asked.
 */
export class CertificateKeeper {
  private readonly kept = new Map<string, KeptCertificate>();
  private readonly pending = new Map<string, Promise<KeptCertificate>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: KeeperOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.renewDue(), this.options.checkMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The current certificate for exactly these names, fetched when there is none or it is due. */
  async get(names: readonly string[]): Promise<KeptCertificate> {
    const id = keyOf(names);
    const current = this.kept.get(id);
    if (current && current.renewAfter > this.now()) return current;
    try {
      return await this.fetch(names);
    } catch (err) {
      if (current && current.notAfter > this.now()) return current; // still valid: renewal goes on trying
      throw err;
    }
  }

  async authorities(): Promise<TrustBundle> {
    return this.server().authorities();
  }

  /** Every kept certificate whose renewal time has come, renewed one after another. */
  async renewDue(): Promise<void> {
    for (const cert of [...this.kept.values()]) {
      if (cert.renewAfter > this.now()) continue;
      try {
        const renewed = await this.fetch(cert.names);
        this.options.logger.info({ names: renewed.names, notAfter: new Date(renewed.notAfter) }, 'certificate renewed');
      } catch (err) {
        const left = Math.round((cert.notAfter - this.now()) / 60_000);
        this.options.logger.warn({ err, names: cert.names }, `certificate renewal failed; ${left} min of it left`);
      }
    }
  }

  /** Forgets every certificate (the node left its server; the names may mean another node now). */
  clear(): void {
    this.kept.clear();
  }

  private fetch(names: readonly string[]): Promise<KeptCertificate> {
    const id = keyOf(names);
    let pending = this.pending.get(id);
    if (!pending) {
      pending = this.issue(names).finally(() => this.pending.delete(id));
      this.pending.set(id, pending);
    }
    return pending;
  }

  private async issue(names: readonly string[]): Promise<KeptCertificate> {
    const server = this.server();
    const { key, csr } = await (this.options.makeKey ?? newKeyAndRequest)();
    const issued = await server.certificate({ csr, names: [...names] });
    const notBefore = Date.parse(issued.notBefore);
    const notAfter = Date.parse(issued.notAfter);
    const kept: KeptCertificate = {
      names: issued.names,
      certificate: issued.certificate,
      key,
      authorities: issued.authorities,
      notBefore,
      notAfter,
      renewAfter: notAfter - (notAfter - notBefore) / 3,
    };
    this.kept.set(keyOf(names), kept);
    return kept;
  }

  private server() {
    const server = this.options.server();
    if (!server) throw new AgentError('agent.not_logged_in', 'this node has not joined a mesh: no CA to ask');
    return server;
  }
}

const keyOf = (names: readonly string[]) => names.join(',');
