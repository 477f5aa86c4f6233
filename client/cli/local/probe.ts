import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { run } from '../../system/run.ts';

/**
 * One probe of a mesh address: an ICMP echo (the system's `ping`, which holds the raw-socket
 * privilege) or a TCP connection attempt. A TCP reset counts as an answer: it crossed the tunnel
 * and back, only no one listens on that port. Silence until the timeout is no answer.
 */
export type ProbeResult = { ok: true; ms: number; detail?: string } | { ok: false; reason: string };

export async function icmpProbe(ip: string, timeoutS: number): Promise<ProbeResult> {
  try {
    const { stdout } = await run('ping', ['-n', '-c', '1', '-W', String(Math.max(1, Math.ceil(timeoutS))), ip], {
      timeoutMs: (timeoutS + 2) * 1000,
    });
    const m = /time[=<]([\d.]+) ms/.exec(stdout);
    return { ok: true, ms: m ? Number(m[1]) : Number.NaN };
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    return { ok: false, reason: stderr || 'no echo reply' };
  }
}

export function tcpProbe(ip: string, port: number, timeoutS: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const start = performance.now();
    const socket = connect({ host: ip, port });
    const done = (r: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => done({ ok: false, reason: `no answer within ${timeoutS} s (filtered, or the peer is unreachable)` }),
      timeoutS * 1000,
    );
    socket.once('connect', () => done({ ok: true, ms: performance.now() - start, detail: 'open' }));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done({ ok: true, ms: performance.now() - start, detail: 'closed (reset)' });
      else done({ ok: false, reason: err.message });
    });
  });
}
