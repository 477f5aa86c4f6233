/**
 * Loaded into each replica with `--import` (NODE_OPTIONS, which refuses `--cpu-prof` itself)
 * when the benchmark runs with BENCH_CPU_PROF=DIR. A SIGUSR2 starts a CPU profile, the next
 * writes it to DIR/replica-<pid>-<n>.cpuprofile: the benchmark profiles just the policy change and the failover (a
 * whole run's profile of a replica with thousands of streams is not written before its
 * shutdown's SIGKILL). The in-process inspector session answers synchronously.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  let running = false;
  let written = 0;
  process.on('SIGUSR2', () => {
    if (!running) {
      session.post('Profiler.start');
      running = true;
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (!err)
        writeFileSync(join(dir, `replica-${process.pid}-${++written}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
