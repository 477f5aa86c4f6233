import type { CertificateRequest, CertificateResponse, TrustBundle } from '../../protocol/pki.ts';
import { isoTime } from '../../protocol/time.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { forbidden, invalid, TrellisError } from '../errors.ts';
import type { NodeRecord } from '../store/records.ts';
import type { CertificateAuthority } from './authority.ts';

interface CertificateServiceDeps {
  authority: CertificateAuthority;
  audit: AuditLog;
  /** The mesh DNS domain: every certificate name is `<label>.<domain>`. */
  domain: string;
  /** Seconds a certificate lives (config `pki.certificateSeconds`). */
  certificateSeconds: number;
  issuesPerHour: number;
  /** Service names (labels) this node may serve besides its own name (HA replicas). */
  servedBy?: (node: NodeRecord) => readonly string[];
  /** Whether a label is a service's name: a node so named gets it only as one of its replicas. */
  isService?: (label: string) => boolean;
  now: () => number;
}

const HOUR_MS = 3600_000;
/** notBefore lies this far back, so a client whose clock runs a little behind accepts a new certificate. */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Issues certificates to nodes: only for the node's own mesh name and for service names it may
 * serve, never past its key expiry, at most `issuesPerHour` per node, and every attempt (issued
 * or refused) is an audit event of kind `pki.issue` naming the names, serial and expiry.
 */
export class CertificateService {
  private readonly recent = new Map<string, number[]>();

  constructor(private readonly deps: CertificateServiceDeps) {}

  bundle(): TrustBundle {
    return { domain: this.deps.domain, authorities: this.deps.authority.bundle() };
  }

  async issue(node: NodeRecord, request: CertificateRequest, sourceIp: string): Promise<CertificateResponse> {
    const event = {
      kind: 'pki.issue' as const,
      actor: node.name,
      method: 'machine-key',
      nodeId: node.id,
      source: sourceIp,
    };
    const names = [...new Set(request.names)];
    try {
      this.checkNames(node, names);
      this.spend(node.id);
      // The store's CAs, not the ones in memory: a rotation another replica just made, whose
      // change has not reached this one yet, must not get a leaf from a CA that stopped signing.
      await this.deps.authority.reload();
      const now = this.deps.now();
      const notAfter = Math.min(
        now + this.deps.certificateSeconds * 1000,
        node.expiresAt ?? Number.MAX_SAFE_INTEGER,
        this.deps.authority.signingNotAfter,
      );
      const leaf = await this.deps.authority.sign({
        csr: request.csr,
        names,
        notBefore: now - CLOCK_SKEW_MS,
        notAfter,
      });
      const serial = leaf.certificate.serialNumber.toLowerCase();
      const answer: CertificateResponse = {
        certificate: leaf.pem,
        serial,
        names,
        notBefore: isoTime(Date.parse(leaf.certificate.validFrom)),
        notAfter: isoTime(Date.parse(leaf.certificate.validTo)),
        authorities: this.deps.authority.bundle(),
      };
      await this.deps.audit.record({
        ...event,
        outcome: 'success',
        message: `certificate ${serial} for ${names.join(', ')} until ${answer.notAfter}`,
      });
      return answer;
    } catch (err) {
      await this.deps.audit.failure(event, err, `certificate for ${names.join(', ')}`);
      throw err;
    }
  }

  private checkNames(node: NodeRecord, names: readonly string[]): void {
    const suffix = `.${this.deps.domain}`;
    const served = this.deps.servedBy?.(node) ?? [];
    const own = this.deps.isService?.(node.name) ? [] : [node.name];
    const allowed = [...new Set([...own, ...served])];
    names.forEach((name, i) => {
      const label = name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined;
      if (label === undefined || label.includes('.')) {
        throw invalid('pki.bad_name', `body.names[${i}]: ${name} is not <name>${suffix}`, `body.names.${i}`);
      }
      if (!allowed.includes(label)) {
        throw forbidden(
          'pki.name_not_allowed',
          `node ${node.name} may have a certificate for ${allowed.map((a) => a + suffix).join(', ')}, not for ${name}`,
        );
      }
    });
  }

  /** A sliding hour per node: a looping agent cannot keep openssl busy for everyone. */
  private spend(nodeId: string): void {
    const now = this.deps.now();
    const times = (this.recent.get(nodeId) ?? []).filter((t) => t > now - HOUR_MS);
    if (times.length >= this.deps.issuesPerHour) {
      throw new TrellisError(
        'rate_limited',
        'pki.too_many',
        `this node was issued ${times.length} certificates in the last hour (pki.issuesPerHour); retry later`,
      );
    }
    times.push(now);
    this.recent.set(nodeId, times);
  }
}
