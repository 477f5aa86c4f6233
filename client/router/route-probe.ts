import { connect } from 'node:net';
import type { RouteProbe } from '../../protocol/route-health.ts';
import { run, type Runner } from '../system/run.ts';

/**
 * One check of a route's probe target: undefined when it answered, else why not (short text for
 * the server's view and `trellis status`). TCP: a completed connect (a refused one means nothing
 * listens where the probe says a service is: a failure). ICMP: one echo with the system's ping.
 */
export function runProbe(probe: RouteProbe, timeoutMs: number, runner: Runner = run): Promise<string | undefined> {
  return probe.kind === 'tcp' ? tcpProbe(probe.target, timeoutMs) : icmpProbe(probe.target, timeoutMs, runner);
}

function tcpProbe(target: string, timeoutMs: number): Promise<string | undefined> {
  const at = target.lastIndexOf(':');
  const host = target.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(target.slice(at + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (error: string | undefined) => {
      clearTimeout(timer);
      resolve(error);
      // Close politely (FIN, then read what the service says): a reset on every probe would
      // fill the service's log with errors, and some services die of them.
      if (error !== undefined) return void socket.destroy();
      socket.end();
      socket.resume();
      setTimeout(() => socket.destroy(), timeoutMs).unref();
    };
    const timer = setTimeout(() => done(`tcp ${target}: no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(`tcp ${target}: ${err.code ?? err.message}`));
    socket.on('error', () => undefined); // after the answer, a late error means nothing
  });
}

async function icmpProbe(target: string, timeoutMs: number, runner: Runner): Promise<string | undefined> {
  // iputils ping takes fractions of a second; a whole second would double a 500 ms timeout.
  const seconds = (Math.max(100, timeoutMs) / 1000).toFixed(1);
  try {
    await runner('ping', ['-n', '-q', '-c', '1', '-W', seconds, target], { timeoutMs: timeoutMs + 2_000 });
    return undefined;
  } catch {
    return `icmp ${target}: no echo reply within ${Number(seconds) * 1000} ms`;
  }
}
