import { ALLOW_ALL_POLICY, formatDiagnostic, parsePolicy, type Diagnostic, type Policy } from '../../policy/index.ts';
import { TrellisError } from '../errors.ts';
import type { PolicyRecord } from '../store/records.ts';
import { StoreConflict, type Store } from '../store/store.ts';

const POLICY_FILE_NAME = 'policy.hujson';

interface ActivePolicy {
  record: PolicyRecord;
  policy: Policy;
  /** Set when this process wrote it: its change-log seq (server/netmap/applied-seq.ts). */
  changeSeq?: number;
}

/**
 * Keeps the active policy: loads it at start (writing the allow-all starter on first start),
 * checks and applies new versions. A rejected policy changes nothing: the old one stays.
 */
export class PolicyService {
  private active!: ActivePolicy;
  private readonly listeners: Array<(active: ActivePolicy) => void> = [];

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  async load(): Promise<ActivePolicy> {
    let record = await this.store.policies.current();
    if (!record) {
      ({ record } = await this.store.policies.append({
        text: ALLOW_ALL_POLICY,
        author: 'trellis (first start)',
        starter: true,
        createdAt: this.now(),
      }));
    }
    const parsed = parsePolicy(record.text, POLICY_FILE_NAME);
    if (!parsed.policy) {
      // The store only ever holds accepted policies; a newer server may reject an old one.
      throw new Error(
        `stored policy version ${record.version} no longer parses:\n${parsed.diagnostics.map(formatDiagnostic).join('\n')}`,
      );
    }
    this.active = { record, policy: parsed.policy };
    return this.active;
  }

  /**
   * Adopts the store's current version when it is newer than the active one (another replica set
   * it: server/replication/), and tells the listeners as `set` does.
   */
  async follow(): Promise<void> {
    const record = await this.store.policies.current();
    if (!record || record.version <= this.active.record.version) return;
    const parsed = parsePolicy(record.text, POLICY_FILE_NAME);
    // Accepted by a replica of another version that this one cannot read: keep the last it can.
    if (!parsed.policy) throw rejected(parsed.diagnostics);
    this.active = { record, policy: parsed.policy };
    for (const l of this.listeners) l(this.active);
  }

  current(): ActivePolicy {
    return this.active;
  }

  onChange(listener: (active: ActivePolicy) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Parses, validates and runs the policy's own tests; never changes anything. Diagnostics name
   * `fileName`, the uploader's name for the file.
   */
  check(text: string, fileName = POLICY_FILE_NAME): { policy: Policy } {
    const parsed = parsePolicy(text, fileName);
    if (!parsed.policy) throw rejected(parsed.diagnostics);
    return { policy: parsed.policy };
  }

  /** Stored versions, newest first: at most `limit`, older than `before` when given. */
  async versions(limit: number, before?: number): Promise<{ items: PolicyRecord[]; more: boolean }> {
    const all = (await this.store.policies.list()).filter((r) => before === undefined || r.version < before);
    return { items: all.slice(0, limit), more: all.length > limit };
  }

  /** One stored version, or 404 `policy.unknown_version`. */
  async version(n: number): Promise<PolicyRecord> {
    if (n === this.active.record.version) return this.active.record;
    const found = (await this.store.policies.list()).find((r) => r.version === n);
    if (!found)
      throw new TrellisError(
        'not_found',
        'policy.unknown_version',
        `there is no policy version ${n}; the versions are 1 to ${this.active.record.version}`,
      );
    return found;
  }

  /** Makes version `n`'s text the active policy again, as a new version (history only grows). */
  async revert(n: number, author: string, expectedVersion?: number): Promise<ActivePolicy> {
    const old = await this.version(n);
    return this.set(old.text, author, expectedVersion);
  }

  async set(text: string, author: string, expectedVersion?: number, fileName?: string): Promise<ActivePolicy> {
    const { policy } = this.check(text, fileName);
    let appended: { record: PolicyRecord; changeSeq: number };
    try {
      appended = await this.store.policies.append(
        { text, author, starter: false, createdAt: this.now() },
        expectedVersion,
      );
    } catch (err) {
      if (err instanceof StoreConflict)
        throw new TrellisError('conflict', err.code, err.message, { where: 'body.ifVersion', cause: err });
      throw err;
    }
    const mine = { record: appended.record, policy, changeSeq: appended.changeSeq };
    // A newer version, set through another replica, may have been followed while this one was
    // stored: the maps keep the newer one.
    if (this.active.record.version > mine.record.version) return mine;
    this.active = mine;
    for (const l of this.listeners) l(this.active);
    return this.active;
  }
}

function rejected(diagnostics: Diagnostic[]): TrellisError {
  const details = diagnostics.map((d) => ({
    code: d.code,
    message: d.message,
    where: `${d.file}:${d.line}:${d.column}`,
  }));
  const first = details[0];
  const message = `the policy was rejected (${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'}):\n${diagnostics.map(formatDiagnostic).join('\n')}`;
  return new TrellisError('invalid', 'policy.invalid', message, { where: first?.where, details });
}
