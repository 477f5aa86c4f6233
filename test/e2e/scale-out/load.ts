import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Host } from '../harness/lab.ts';
import type { BackgroundProcess } from '../harness/process.ts';
import { REPO_ROOT } from '../mesh/repo.ts';

const SCRIPT = join(REPO_ROOT, 'test/e2e/scale-out/join-load.ts');

/** join-load.ts running on a lab host: what it was told, acknowledged and refused. */
export class JoinLoad {
  private constructor(
    private readonly process: BackgroundProcess,
    private readonly dir: string,
  ) {}

  static async start(host: Host, url: string, authKey: string, parallel = 2): Promise<JoinLoad> {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-join-load-'));
    const p = host.spawn('node', ['--import', 'tsx', SCRIPT, url, authKey, String(parallel), join(dir, 'answers')]);
    await p.waitFor(/^ready$/m, 30_000);
    return new JoinLoad(p, dir);
  }

  private get answers(): string {
    try {
      return readFileSync(join(this.dir, 'answers'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Node ids whose join was answered with success. */
  get acknowledged(): string[] {
    return [...this.answers.matchAll(/^joined (\S+) /gm)].map((m) => m[1]!);
  }

  /** `status code` of every refusal, e.g. `503 store.unavailable`. */
  get refusals(): string[] {
    return [...this.answers.matchAll(/^refused (\d+ \S+) /gm)].map((m) => m[1]!);
  }

  /** Every refusal as recorded, with its message. */
  get refusalLines(): string[] {
    return this.answers.split('\n').filter((line) => line.startsWith('refused '));
  }

  /** Resolves once `count` more joins than now have been acknowledged. */
  async more(count: number, timeoutMs = 30_000): Promise<void> {
    const target = this.acknowledged.length + count;
    const deadline = Date.now() + timeoutMs;
    while (this.acknowledged.length < target) {
      if (Date.now() > deadline)
        throw new Error(
          `join load: no ${count} more joins; ${this.answers.slice(-1000)} ${this.process.output.slice(-1000)}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    await this.process.stop(10_000);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
