import type { Host } from '../harness/lab.ts';
import type { BackgroundProcess } from '../harness/process.ts';

/** `ping` running on a lab host over a fault: how many echo requests went out and came back. */
export class PingRun {
  private constructor(private readonly process: BackgroundProcess) {}

  /** Five echo requests a second to `target`, until stopped. */
  static async start(host: Host, target: string): Promise<PingRun> {
    const p = host.spawn('ping', ['-n', '-q', '-i', '0.2', '-W', '1', target]);
    await p.waitFor(/^PING /m, 15_000);
    return new PingRun(p);
  }

  /** Stops it (SIGINT makes ping print its totals) and reads them. */
  async stop(): Promise<{ sent: number; received: number; loss: number; summary: string }> {
    // `ip netns exec` execs ping, so the pid is ping's own.
    if (this.process.pid !== undefined) process.kill(this.process.pid, 'SIGINT');
    await this.process.waitFor(/packets transmitted/, 10_000).catch(() => undefined);
    const m = /(\d+) packets transmitted, (\d+) received/.exec(this.process.output);
    if (!m) throw new Error(`ping printed no totals: ${this.process.output.slice(-500)}`);
    const sent = Number(m[1]);
    const received = Number(m[2]);
    return { sent, received, loss: sent === 0 ? 1 : (sent - received) / sent, summary: m[0] };
  }
}
