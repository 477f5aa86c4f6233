/**
 * Policy compiler benchmark: a synthetic 10,000-node network with 500 groups and tags and 2,000
 * rules. Measures, in one run:
 *   1. parse: policy text to a checked Policy;
 *   2. full compile: index every node and compute every node's peers and filter;
 *   3. incremental: nodes joining and nodes changing tags, each followed by recomputing the
 *      views of the nodes it affects (what the server sends);
 *   4. baseline: the naive alternative, recomputing every node's views from scratch per change;
 *   5. memory: heap after the full compile;
 *   6. access diff (what POST /api/v1/policy/diff answers): the class-based diff against the
 *      pair-by-pair one it replaced, side by side at 600 and 2,000 nodes, alone at 10,000.
 * Prints the figures, then one JSON line.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parsePolicy, PolicyNetwork, type PolicyNode } from '../../../policy/index.ts';
import { DIFF_SIZES, measureDiff } from './diff.ts';
import { DEFAULT_SHAPE, nodeAt, random, synthesize } from './synthetic.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function materializeAll(net: PolicyNetwork, nodes: PolicyNode[]): number {
  let peers = 0;
  for (const n of nodes) {
    peers += net.peersOf(n.id).length;
    net.filterOf(n.id);
  }
  return peers;
}

const shape = DEFAULT_SHAPE;
const synth = synthesize(shape);

let t = process.hrtime.bigint();
const parsed = parsePolicy(synth.policyText, 'bench.hujson');
const parseMs = ms(t);
if (!parsed.policy) throw new Error(parsed.diagnostics.map((d) => d.message).join('\n'));
const policy = parsed.policy;

gc();
const heapBefore = process.memoryUsage().heapUsed;
t = process.hrtime.bigint();
const cpu = process.cpuUsage();
const net = new PolicyNetwork(policy);
net.loadNodes(synth.nodes);
const indexMs = ms(t);
const totalPeers = materializeAll(net, synth.nodes);
const compileMs = ms(t);
// CPU time too: on a shared machine, wall time also counts time spent waiting for a core.
const compileCpuMs = (process.cpuUsage(cpu).user + process.cpuUsage(cpu).system) / 1000;
gc();
const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;

const compiledMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

// The same compile again, with the code warmed up (the figure a long-running server sees).
t = process.hrtime.bigint();
const warm = new PolicyNetwork(policy);
warm.loadNodes(synth.nodes);
materializeAll(warm, synth.nodes);
const compileWarmMs = ms(t);

// Incremental: joins of new user devices, and tagged servers moving to another tag.
const rnd = random(7);
const ops = 400;
let upsertTotal = 0;
let withViewsTotal = 0;
let affectedTotal = 0;
let nextIndex = shape.nodes;
const live = [...synth.nodes];
for (let i = 0; i < ops; i++) {
  let node: PolicyNode;
  if (i % 2 === 0) {
    const user = synth.users[Math.floor(rnd() * synth.users.length)] as string;
    node = nodeAt(nextIndex++, { user, tags: [] });
    live.push(node);
  } else {
    const tagged = live.filter((n) => n.tags.length > 0);
    const victim = tagged[Math.floor(rnd() * tagged.length)] as PolicyNode;
    node = { ...victim, tags: [synth.tags[Math.floor(rnd() * synth.tags.length)] as string] };
    live[live.indexOf(victim)] = node;
  }
  const start = process.hrtime.bigint();
  const affected = net.upsertNode(node);
  upsertTotal += ms(start);
  for (const id of affected) {
    net.peersOf(id);
    net.filterOf(id);
  }
  withViewsTotal += ms(start);
  affectedTotal += affected.size;
}

// Baseline: what a server without incremental state does on each change.
const baselineRuns = 3;
let baselineTotal = 0;
for (let i = 0; i < baselineRuns; i++) {
  const start = process.hrtime.bigint();
  const fresh = new PolicyNetwork(policy);
  fresh.loadNodes(live);
  materializeAll(fresh, live);
  baselineTotal += ms(start);
}

const diffs = DIFF_SIZES.map(({ shape: size, pairwise }) => measureDiff(size, pairwise));

const result = {
  nodes: shape.nodes,
  rules: policy.rules.length,
  groupsAndTags: shape.namedSets,
  avgPeers: Math.round(totalPeers / shape.nodes),
  parseMs: Math.round(parseMs),
  indexMs: Math.round(indexMs),
  compileMs: Math.round(compileMs),
  compileCpuMs: Math.round(compileCpuMs),
  compileWarmMs: Math.round(compileWarmMs),
  incrementalMsAvg: Number((upsertTotal / ops).toFixed(3)),
  incrementalWithViewsMsAvg: Number((withViewsTotal / ops).toFixed(3)),
  affectedAvg: Math.round(affectedTotal / ops),
  baselineMs: Math.round(baselineTotal / baselineRuns),
  heapMiB: Math.round(heapMiB),
  compiledStateMiB: Math.round(compiledMiB),
  rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  diff: diffs,
};

console.log(`policy: ${result.rules} rules, ${result.groupsAndTags} groups and tags, parsed in ${result.parseMs} ms`);
console.log(
  `full compile of ${result.nodes} nodes (${result.avgPeers} peers each on average): ${result.compileMs} ms (${result.compileCpuMs} ms of CPU; indexing ${result.indexMs} ms); warm: ${result.compileWarmMs} ms`,
);
console.log(
  `incremental change (join or tag change): ${result.incrementalMsAvg} ms to update the state, ${result.incrementalWithViewsMsAvg} ms with the views of the ${result.affectedAvg} affected nodes`,
);
console.log(
  `baseline, full recompute per change: ${result.baselineMs} ms (${Math.round(result.baselineMs / result.incrementalWithViewsMsAvg)}x slower)`,
);
console.log(
  `memory: heap ${result.heapMiB} MiB (compiled state ${result.compiledStateMiB} MiB), rss ${result.rssMiB} MiB`,
);
console.log('access diff (median of 3), 24 rules widened: nodes  rules  changes   by class   pair by pair');
for (const d of diffs)
  console.log(
    `${''.padEnd(42)} ${String(d.nodes).padStart(6)} ${String(d.rules).padStart(6)} ${String(d.changes).padStart(8)} ${`${d.diffMs} ms`.padStart(10)} ${(d.pairwiseMs === undefined ? 'not run' : `${d.pairwiseMs} ms (${(d.pairwiseMs / Math.max(d.diffMs, 1)).toFixed(1)}x)`).padStart(14)}`,
  );
console.log(JSON.stringify(result));
