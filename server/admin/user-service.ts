import { conflict, notFound } from '../errors.ts';
import type { NetmapEngine } from '../netmap/engine.ts';
import type { UserRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';

/** Users: created by an administrator (local) or by a sign-in (later, through OIDC). */
export class UserService {
  private readonly emails = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly engine: NetmapEngine,
    private readonly now: () => number,
  ) {}

  async load(): Promise<UserRecord[]> {
    const users = await this.store.users.list();
    for (const u of users) this.remember(u);
    return users;
  }

  list(): Promise<UserRecord[]> {
    return this.store.users.list();
  }

  async create(input: { email: string; displayName?: string; groups: string[] }): Promise<UserRecord> {
    const written = await this.store.users.upsert(
      {
        subject: `local:${input.email.toLowerCase()}`,
        email: input.email.toLowerCase(),
        displayName: input.displayName ?? input.email,
        groups: input.groups,
      },
      this.now(),
    );
    return this.adopt(written);
  }

  /**
   * Creates or updates the user a sign-in proved, with name and groups as of this sign-in. A
   * user an administrator created beforehand with the same email is adopted.
   */
  async signIn(person: { subject: string; email: string; displayName: string; groups: string[] }): Promise<UserRecord> {
    const byEmail = await this.store.users.getByEmail(person.email);
    let subject = person.subject;
    if (byEmail && byEmail.subject !== person.subject) {
      if (!byEmail.subject.startsWith('local:')) {
        throw conflict('user.email_taken', `${person.email} already belongs to a user of another identity provider`);
      }
      subject = byEmail.subject;
    }
    return this.adopt(await this.store.users.upsert({ ...person, subject }, this.now()));
  }

  /**
   * A user this replica wrote, into the maps at once; the deltas it causes name its change-log
   * seq, so an agent whose replica dies before reading the row back can resume elsewhere.
   */
  private adopt({ record, changeSeq }: { record: UserRecord; changeSeq: number }): UserRecord {
    this.remember(record);
    this.engine.upsertUser(record);
    this.engine.noteOwnWrite('user', record.id, changeSeq);
    return record;
  }

  /** Deletes the user with their nodes and keys. */
  async remove(id: string): Promise<void> {
    const nodes = (await this.store.nodes.list()).filter((n) => n.userId === id);
    if (!(await this.store.users.delete(id))) throw notFound('user.not_found', `no user with id ${id}`);
    this.emails.delete(id);
    for (const n of nodes) this.engine.removeNode(n.id, 'deleted');
  }

  /** Email of a user id, for views; synchronous because it is called per row. */
  emailOf = (userId: string): string | undefined => this.emails.get(userId);

  /** A user as stored (here or by another replica: server/replication/). */
  remember(u: UserRecord): void {
    this.emails.set(u.id, u.email);
  }

  /** A user deleted by another replica. */
  forget(id: string): void {
    this.emails.delete(id);
  }
}
