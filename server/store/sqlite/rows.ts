/** SQLite gives NULL for absent values; records use undefined. */
export function orUndefined<T>(value: T | null): T | undefined {
  return value === null ? undefined : value;
}

/** Drops keys whose value is undefined, so a patch never writes NULL by accident. */
export function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
