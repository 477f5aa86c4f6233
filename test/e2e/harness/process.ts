import { spawn, type ChildProcess } from 'node:child_process';
import { commandLine } from '../../../client/system/run.ts';

/**
 * A long-running program started by a test inside a namespace (a TCP server, iperf3 -s, ...).
 * It keeps the tail of its output so a test can wait for a readiness line and a failure can
 * show what the program said.
 */
export class BackgroundProcess {
  private readonly child: ChildProcess;
  private out = '';
  private readonly exited: Promise<number | null>;

  constructor(program: string, args: readonly string[], netns?: string) {
    const argv = commandLine(program, args, netns);
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => (this.out = (this.out + d.toString('utf8')).slice(-16_384));
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.out += `\n${err.message}`;
        resolve(null);
      });
      this.child.once('exit', (code) => resolve(code));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get output(): string {
    return this.out;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves when the output matches `pattern`; rejects if the program exits or time runs out. */
  async waitFor(pattern: RegExp, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.out)) {
      if (!this.running) throw new Error(`process exited before printing ${pattern}: ${this.out.trim()}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms; output: ${this.out.trim()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(timeoutMs = 2_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(killer);
  }
}
