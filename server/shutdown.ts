/**
 * How the server stops. Each part registers its stop as soon as it runs, and the stops run in
 * the reverse order: a part is started after everything it uses, so it is stopped before any of
 * them (the jobs and streams before the engine and the HTTP port, the store last). A start that
 * fails half-way runs the same list, so it leaves no port open behind it.
 */
export class Shutdown {
  private readonly steps: Array<{ part: string; stop: () => void | Promise<void> }> = [];

  /** `part` runs from now on; `stop` ends it. */
  add(part: string, stop: () => void | Promise<void>): void {
    this.steps.push({ part, stop });
  }

  /** Stops every part, last started first. One that fails to stop does not keep the others running. */
  async run(): Promise<void> {
    let failure: Error | undefined;
    for (const { part, stop } of this.steps.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        failure ??= new Error(`stopping ${part} failed`, { cause: err });
      }
    }
    if (failure) throw failure;
  }
}
