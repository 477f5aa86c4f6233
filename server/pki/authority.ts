import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { TrellisError } from '../errors.ts';
import type { AuthorityRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { newAuthority } from './new-authority.ts';
import { signLeaf, type Leaf, type LeafOrder } from './sign-leaf.ts';

interface AuthorityOptions {
  store: Store;
  domain: string;
  authorityDays: number;
  /** How long a leaf lives (config `pki.certificateSeconds`): a retired CA is trusted that long after. */
  certificateSeconds: number;
  logger: Logger;
  now: () => number;
}

/** setTimeout's longest delay (~24.8 days): a longer grace period is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Not sooner than this after a look: a rotation the store says is not over is not polled hot. */
const MIN_LOOK_MS = 250;
/** When writing the end of a rotation down failed (the store away), how soon to try again. */
const RETRY_MS = 5_000;

/** Where one CA stands in a rotation (server/pki/README.md, "Rotation"). */
export type AuthorityState = 'pending' | 'signing' | 'retired' | 'expired';

export interface AuthorityStatus {
  id: string;
  state: AuthorityState;
  /** When it signs (or signed) from. */
  signsFrom: number;
  /** When it stopped signing, if it did. */
  retiredAt?: number;
  /** Until when clients are told to trust it: its last leaf's end, or its own. */
  trustedUntil: number;
  notAfter: number;
  certificate: string;
}

/**
 * The mesh's certificate authorities: the first is made on the server's first start and kept
 * in the store, so a restart (or a second server on the same database) signs with the same key.
 * A rotation adds a CA that clients trust at once but that signs only from a later time; from
 * then on the older one signs nothing and stays in the bundle until the last leaf it signed has
 * expired. When openssl is missing the server still starts; every certificate call then answers
 * `pki.unavailable` with the reason, and the next start tries again.
 */
export class CertificateAuthority {
  private lapseTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private known: AuthorityRecord[],
    private readonly unavailable: string | undefined,
    private readonly options: AuthorityOptions,
  ) {}

  static async open(options: AuthorityOptions): Promise<CertificateAuthority> {
    const { store, logger, now } = options;
    const known = await store.authorities.list();
    if (!known.some((a) => a.retiredAt === undefined)) {
      try {
        const made = await newAuthority(options.domain, options.authorityDays, now());
        const first = await store.authorities.addFirst(made);
        logger.info({ authority: first.id }, 'created the mesh certificate authority');
      } catch (err) {
        const reason = err instanceof TrellisError ? err.message : 'it could not be created';
        logger.warn({ err }, `no mesh certificate authority: ${reason}; node certificates are unavailable`);
        return new CertificateAuthority(known, reason, options);
      }
    }
    return new CertificateAuthority(await store.authorities.list(), undefined, options);
  }

  /** The CA certificates a client should trust now, newest first: pending, signing, or retired with live leaves. */
  bundle(): string[] {
    this.ready();
    const now = this.options.now();
    return this.status()
      .filter((a) => a.trustedUntil > now)
      .map((a) => a.certificate);
  }

  /** Every CA the store keeps, newest first, with where it stands. */
  status(): AuthorityStatus[] {
    const now = this.options.now();
    const leafMs = this.options.certificateSeconds * 1000;
    // A CA stops signing when it is retired outright, or when a later one starts signing.
    const starts = this.known.map((a) => a.createdAt).filter((t) => t <= now);
    return this.known.map((a) => {
      const started = a.createdAt <= now;
      const superseded = Math.min(a.retiredAt ?? Infinity, ...starts.filter((t) => t > a.createdAt));
      const retiredAt = Number.isFinite(superseded) ? superseded : undefined;
      const trustedUntil = retiredAt === undefined ? a.notAfter : Math.min(a.notAfter, retiredAt + leafMs);
      const state: AuthorityState =
        trustedUntil <= now ? 'expired' : retiredAt !== undefined ? 'retired' : started ? 'signing' : 'pending';
      return {
        id: a.id,
        state,
        signsFrom: a.createdAt,
        ...(retiredAt === undefined ? {} : { retiredAt }),
        trustedUntil,
        notAfter: a.notAfter,
        certificate: a.certificate,
      };
    });
  }

  /**
   * Starts a rotation: a new CA, in the bundle from now on, that signs from `graceMs` from now
   * (at once when 0, which also retires the old ones). Refused while another rotation is pending.
   */
  async rotate(graceMs: number): Promise<AuthorityStatus> {
    this.ready();
    await this.reload();
    await this.recordLapsed();
    if (this.status().some((a) => a.state === 'pending')) throw rotationInProgress();
    const { store, domain, authorityDays, now } = this.options;
    const made = await newAuthority(domain, authorityDays, now());
    // The check above answers the common case; the store's unique index decides the race
    // (two admins, or two replicas, rotating at once): only one rotation is in progress.
    if (!(await store.authorities.startRotation({ ...made, createdAt: now() + graceMs }, graceMs === 0))) {
      await this.reload();
      throw rotationInProgress();
    }
    await this.reload();
    return this.statusOf(made.id);
  }

  /**
   * Writes down the end of a rotation whose grace period has lapsed (its new CA signs by itself
   * from then on): the older CAs' `retired_at` and one `pki.rotation` audit event. Every replica
   * calls this when the time comes; the store lets exactly one of them write.
   */
  async recordLapsed(): Promise<string | undefined> {
    const now = this.options.now();
    const lapsed = this.known.find((a) => a.rotating && a.createdAt <= now);
    if (!lapsed) return undefined;
    const cert = new X509Certificate(lapsed.certificate);
    const event = {
      at: now,
      kind: 'pki.rotation' as const,
      outcome: 'success' as const,
      actor: 'system',
      code: 'pki.grace_lapsed',
      message:
        `CA ${lapsed.id} (sha256 ${cert.fingerprint256}) signs since ${new Date(lapsed.createdAt).toISOString()}: ` +
        "the rotation's grace period lapsed; the older CAs are retired and stay trusted while their certificates live",
    };
    const closedHere = await this.options.store.authorities.closeLapsedRotation(lapsed.id, event);
    if (closedHere) this.options.logger.info({ authority: lapsed.id }, `audit: pki.rotation success: ${event.message}`);
    await this.reload();
    return closedHere ? lapsed.id : undefined;
  }

  /** Stops waiting for a grace period to lapse (shutdown). */
  close(): void {
    this.closed = true;
    clearTimeout(this.lapseTimer);
  }

  /**
   * The second phase. Once the grace period is over the new CA signs by itself, and this writes
   * the switch down (the older CAs' `retired_at`). Before that it is refused without `force`:
   * a kubeconfig written before the rotation trusts only the old CA, and fails once the proxy's
   * certificate is renewed by the new one.
   */
  async finish(force = false): Promise<AuthorityStatus> {
    this.ready();
    await this.reload();
    // Finished after the grace period lapsed, before any replica wrote that down: this call does.
    const lapsed = await this.recordLapsed();
    if (lapsed) return this.statusOf(lapsed);
    const status = this.status();
    const pending = status.find((a) => a.state === 'pending');
    if (!pending) {
      const signing = status.find((a) => a.state === 'signing');
      const unrecorded = this.known.some((a) => a.retiredAt === undefined && a.id !== signing?.id);
      if (signing && unrecorded) {
        await this.options.store.authorities.switchTo(signing.id, signing.signsFrom);
        await this.reload();
        return this.statusOf(signing.id);
      }
      const since = signing ? `; ${signing.id} signs since ${new Date(signing.signsFrom).toISOString()}` : '';
      throw new TrellisError('conflict', 'pki.no_rotation', `no CA rotation is pending${since}`);
    }
    if (!force) {
      throw new TrellisError(
        'conflict',
        'pki.overlap_not_over',
        `the new CA ${pending.id} signs from ${new Date(pending.signsFrom).toISOString()} by itself; until then ` +
          'kubeconfigs written before the rotation may not trust it yet. Wait, or finish now with --force ' +
          '(body.force) once every user has re-run `trellis kubeconfig`',
      );
    }
    await this.options.store.authorities.switchTo(pending.id, this.options.now());
    await this.reload();
    return this.statusOf(pending.id);
  }

  /**
   * Reads the CAs again (after a rotation here, or another replica's) and, while a rotation is
   * in progress, waits for its grace period to lapse to write that down (recordLapsed).
   */
  async reload(): Promise<void> {
    this.known = await this.options.store.authorities.list();
    const open = this.known.find((a) => a.rotating);
    this.lookAt(open && Math.min(Math.max(MIN_LOOK_MS, open.createdAt - this.options.now()), MAX_TIMER_MS));
  }

  /** Looks for a lapsed grace period in `delay` ms (none: stops looking). */
  private lookAt(delay: number | undefined): void {
    clearTimeout(this.lapseTimer);
    if (delay === undefined || this.closed) return;
    this.lapseTimer = setTimeout(() => {
      this.recordLapsed().catch((err: unknown) => {
        this.options.logger.warn({ err }, 'the end of the CA rotation was not written down yet; trying again');
        this.lookAt(RETRY_MS);
      });
    }, delay);
    this.lapseTimer.unref();
  }

  /** When the signing CA's own certificate ends; no leaf may outlive it. */
  get signingNotAfter(): number {
    return this.ready().notAfter;
  }

  sign(order: LeafOrder): Promise<Leaf> {
    return signLeaf(this.ready(), order);
  }

  private statusOf(id: string): AuthorityStatus {
    const found = this.status().find((a) => a.id === id);
    if (!found) throw new TypeError(`CA ${id} vanished from the store`);
    return found;
  }

  private ready(): AuthorityRecord {
    const now = this.options.now();
    const signing = this.known.find((a) => a.retiredAt === undefined && a.createdAt <= now);
    if (signing && this.unavailable === undefined) return signing;
    throw new TrellisError(
      'unavailable',
      'pki.unavailable',
      `the mesh certificate authority is unavailable: ${this.unavailable ?? 'not created'}; fix that and restart the server`,
    );
  }
}

function rotationInProgress(): TrellisError {
  return new TrellisError(
    'conflict',
    'pki.rotation_pending',
    'a CA rotation is already in progress (its new CA waits for its grace period to end); ' +
      'finish it with `trellis-server ca finish` first',
  );
}
