import { z } from 'zod';
import type { Host } from '../../e2e/harness/lab.ts';

/**
 * One iperf3 TCP run from `client` to `server` at `target` (an address of the server), for a
 * few seconds; returns the receiver's throughput in Mbit/s.
 */
const Report = z.object({
  end: z.object({ sum_received: z.object({ bits_per_second: z.number(), seconds: z.number() }) }),
});

export async function iperfMbps(client: Host, server: Host, target: string, seconds = 3, port = 5201): Promise<number> {
  const listener = server.spawn('iperf3', ['-s', '-1', '--forceflush', '-p', String(port)]);
  try {
    await listener.waitFor(/Server listening/);
    const { stdout } = await client.exec('iperf3', ['-c', target, '-p', String(port), '-t', String(seconds), '-J'], {
      timeoutMs: (seconds + 15) * 1000,
    });
    const report = Report.parse(JSON.parse(stdout));
    return report.end.sum_received.bits_per_second / 1e6;
  } finally {
    await listener.stop();
  }
}
