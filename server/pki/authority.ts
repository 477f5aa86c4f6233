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
  logger: Logger;
  now: () => number;
}

/**
 * The mesh's certificate authority: made on the server's first start and kept in the store,
 * so a restart (or a second server on the same database) signs with the same key. When openssl
 * is missing the server still starts; every certificate call then answers `pki.unavailable`
 * with the reason, and the next start tries again.
 */
export class CertificateAuthority {
  private constructor(
    private signing: AuthorityRecord | undefined,
    private trusted: AuthorityRecord[],
    private readonly unavailable: string | undefined,
    private readonly now: () => number,
  ) {}

  static async open(options: AuthorityOptions): Promise<CertificateAuthority> {
    const { store, logger, now } = options;
    const known = await store.authorities.list();
    let signing = known.find((a) => a.retiredAt === undefined);
    if (!signing) {
      try {
        const made = await newAuthority(options.domain, options.authorityDays, now());
        signing = await store.authorities.addFirst(made);
        logger.info({ authority: signing.id }, 'created the mesh certificate authority');
      } catch (err) {
        const reason = err instanceof TrellisError ? err.message : 'it could not be created';
        logger.warn({ err }, `no mesh certificate authority: ${reason}; node certificates are unavailable`);
        return new CertificateAuthority(undefined, known, reason, now);
      }
    }
    return new CertificateAuthority(signing, await store.authorities.list(), undefined, now);
  }

  /** The CA certificates a client should trust now, newest first: unexpired, retired or not. */
  bundle(): string[] {
    this.ready();
    return this.trusted.filter((a) => a.notAfter > this.now()).map((a) => a.certificate);
  }

  /** When the signing CA's own certificate ends; no leaf may outlive it. */
  get signingNotAfter(): number {
    return this.ready().notAfter;
  }

  sign(order: LeafOrder): Promise<Leaf> {
    return signLeaf(this.ready(), order);
  }

  private ready(): AuthorityRecord {
    if (this.signing) return this.signing;
    throw new TrellisError(
      'unavailable',
      'pki.unavailable',
      `the mesh certificate authority is unavailable: ${this.unavailable ?? 'not created'}; fix that and restart the server`,
    );
  }
}
