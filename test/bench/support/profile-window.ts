/**
 * Where a V8 CPU profile (node --cpu-prof) spent a window of its time: the functions with the
 * most self time, and the inclusive time of the functions named on the command line. The window
 * is in the profile's own clock (CLOCK_MONOTONIC microseconds, which `process.hrtime` reads in
 * every process), so a benchmark that prints its own hrtime at two moments (bench:control does
 * at a failover) cuts one replica's profile to what happened between them.
 *
 *   node --import tsx test/bench/support/profile-window.ts FILE.cpuprofile [--from US --to US] [--top 25] [NAME...]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { from: { type: 'string' }, to: { type: 'string' }, top: { type: 'string', default: '25' } },
});
const [file, ...names] = positionals;
if (!file) throw new Error('usage: profile-window.ts FILE.cpuprofile [--from US --to US] [--top N] [NAME...]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const from = values.from ? Number(values.from) : -Infinity;
const to = values.to ? Number(values.to) : Infinity;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: ProfileNode) => {
  const where = n.callFrame.url.replace(/^.*\/(server|protocol|node_modules)\//, '$1/');
  return `${n.callFrame.functionName || '(anonymous)'} ${where}:${n.callFrame.lineNumber + 1}`;
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let t = profile.startTime;
let total = 0;
let idle = 0;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i]!;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  if (t < from || t > to) continue;
  const leaf = byId.get(profile.samples[i]!)!;
  total += dt;
  if (leaf.callFrame.functionName === '(idle)') {
    idle += dt;
    continue;
  }
  self.set(label(leaf), (self.get(label(leaf)) ?? 0) + dt);
  // Each named function counts once per sample, however deep it recurses.
  const onStack = new Set<string>();
  for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
    const fn = byId.get(id)!.callFrame.functionName;
    if (names.includes(fn)) onStack.add(fn);
  }
  for (const fn of onStack) inclusive.set(fn, (inclusive.get(fn) ?? 0) + dt);
}

const ms = (us: number) => (us / 1000).toFixed(1).padStart(9);
process.stdout.write(`window ${ms(total)} ms, idle ${ms(idle)} ms, busy ${ms(total - idle)} ms\n`);
for (const [fn, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top)))
  process.stdout.write(`self ${ms(us)} ms  ${fn}\n`);
for (const fn of names) process.stdout.write(`incl ${ms(inclusive.get(fn) ?? 0)} ms  ${fn}\n`);
