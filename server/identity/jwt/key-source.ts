import { readFile, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { TrellisError } from '../../errors.ts';
import type { VerificationKey } from './jwks.ts';

/** A parsed key set, and how long it may be used before it is fetched again. */
export interface LoadedKeys {
  keys: VerificationKey[];
  refreshSeconds?: number;
}

interface KeySourceOptions {
  /** Names the source in logs and errors: "trust domain prod.example.org bundle". */
  name: string;
  /** Where the document comes from. */
  origin: { file: string } | { fetch: () => Promise<unknown> };
  parse: (json: unknown) => LoadedKeys;
  /** Refresh period when the document gives none (remote sources). */
  defaultRefreshSeconds: number;
  now: () => number;
  logger?: Logger;
}

/** A token named a key we do not have: fetch again, but not more often than this. */
const UNKNOWN_KID_COOLDOWN_MS = 30_000;

/**
 * Keys from a file (re-read when it changes) or from a URL (fetched on first use, again when
 * the refresh period has passed, and early when a token names an unknown key). Fetched lazily
 * at authentication time, so an idle server makes no requests. A failed refresh keeps the last
 * good keys; with none at all, authentication answers 503 (a retry may help).
 */
export class KeySource {
  private current?: LoadedKeys;
  private loadedAt = -Infinity;
  private stamp = '';
  private inflight?: Promise<void>;

  constructor(private readonly o: KeySourceOptions) {}

  /** Keys with this kid, or every key when the token names none. */
  async keysFor(kid: string | undefined): Promise<VerificationKey[]> {
    await this.ensureFresh();
    let found = this.match(kid);
    if (
      kid !== undefined &&
      found.length === 0 &&
      'fetch' in this.o.origin &&
      this.o.now() - this.loadedAt > UNKNOWN_KID_COOLDOWN_MS
    ) {
      await this.reload();
      found = this.match(kid);
    }
    return found;
  }

  /** Whether the set holds any key at all (an empty SPIFFE bundle revokes everything). */
  async isEmpty(): Promise<boolean> {
    await this.ensureFresh();
    return (this.current?.keys.length ?? 0) === 0;
  }

  private match(kid: string | undefined): VerificationKey[] {
    const keys = this.current?.keys ?? [];
    return kid === undefined ? keys : keys.filter((k) => k.kid === kid);
  }

  private async ensureFresh(): Promise<void> {
    const { origin } = this.o;
    if ('file' in origin) {
      const s = await stat(origin.file).catch(() => undefined);
      const stamp = s ? `${s.mtimeMs}:${s.size}:${s.ino}` : 'missing';
      if (stamp !== this.stamp || !this.current) await this.reload(stamp);
    } else {
      const period = (this.current?.refreshSeconds ?? this.o.defaultRefreshSeconds) * 1000;
      if (!this.current || this.o.now() - this.loadedAt >= period) await this.reload();
    }
    if (!this.current) {
      throw new TrellisError(
        'unavailable',
        'jwt.keys_unavailable',
        `the ${this.o.name} could not be loaded; retry later (the server log says why)`,
      );
    }
  }

  private reload(stamp?: string): Promise<void> {
    this.inflight ??= this.load(stamp).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(stamp?: string): Promise<void> {
    const { origin } = this.o;
    try {
      const json = 'file' in origin ? JSON.parse(await readFile(origin.file, 'utf8')) : await origin.fetch();
      this.current = this.o.parse(json);
      this.o.logger?.debug({ source: this.o.name, keys: this.current.keys.length }, 'signing keys loaded');
    } catch (err) {
      this.o.logger?.warn(
        { source: this.o.name, err: (err as Error).message },
        'signing keys could not be loaded; keeping the last good set',
      );
    }
    this.loadedAt = this.o.now();
    if (stamp !== undefined) this.stamp = stamp;
  }
}
