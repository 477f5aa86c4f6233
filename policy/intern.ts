/**
 * One object per content, for as long as anyone still holds it: values built again with the
 * same content (a policy recompiled to the same peers) come back as the object already handed
 * out, so holders can tell "unchanged" by identity. Weak: nothing is kept alive by the table.
 */
export class Interner<T extends object> {
  private readonly byKey = new Map<string, WeakRef<T>>();
  private sweepAt = 64;

  /** `key` must identify `value`'s content exactly. */
  intern(key: string, value: T): T {
    const held = this.byKey.get(key)?.deref();
    if (held !== undefined) return held;
    this.byKey.set(key, new WeakRef(value));
    if (this.byKey.size >= this.sweepAt) this.sweep();
    return value;
  }

  private sweep(): void {
    for (const [key, ref] of this.byKey) if (ref.deref() === undefined) this.byKey.delete(key);
    this.sweepAt = Math.max(64, this.byKey.size * 2);
  }
}
