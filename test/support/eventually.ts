/** Polls `ok` every 25 ms until it holds, or fails naming `what`. */
export async function eventually(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls `value` until `ok` holds of it, and returns it. */
export async function eventuallyValue<T>(
  what: string,
  value: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 10_000,
): Promise<T> {
  let last!: T;
  await eventually(what, async () => ok((last = await value())), ms);
  return last;
}
