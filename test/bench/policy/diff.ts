/**
 * The access diff (POST /api/v1/policy/diff, and the audit note of every policy change) on
 * synthetic networks: the class-based diff of policy/diff.ts against the pair-by-pair reference
 * it replaced (test/policy/support/naive-diff.ts), on the same change in the same run. The
 * reference runs only where it finishes in reasonable time. Each figure is the median of three runs
 * (each run builds both policies' networks afresh, as a request does).
 */
import { diffAccess, parsePolicy } from '../../../policy/index.ts';
import { naiveDiffAccess } from '../../policy/support/naive-diff.ts';
import { changePolicy } from './policy-changes.ts';
import { synthesize, type Shape } from './synthetic.ts';

export interface DiffFigure {
  nodes: number;
  rules: number;
  changes: number;
  diffMs: number;
  /** Absent where the reference was not run. */
  pairwiseMs?: number;
}

const RUNS = 3;

/** The answer and the median time of RUNS runs (the first run of each also warms the code). */
const time = <T>(f: () => T): [T, number] => {
  const times: number[] = [];
  let out: T | undefined;
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    out = f();
    times.push(performance.now() - start);
  }
  return [out!, Math.round(times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!)];
};

/** One size: `shape`'s network, a dozen rules widened, diffed both ways when `pairwise`. */
export function measureDiff(shape: Shape, pairwise: boolean): DiffFigure {
  const synth = synthesize(shape, 11);
  const before = parsePolicy(synth.policyText, 'before.hujson').policy!;
  const after = parsePolicy(changePolicy(synth.policyText, 'widen-ports', 24, synth.groups), 'after.hujson').policy!;
  const [diff, diffMs] = time(() => diffAccess(before, after, synth.nodes));
  const figure: DiffFigure = {
    nodes: shape.nodes,
    rules: before.rules.length,
    changes: diff.granted.length + diff.revoked.length,
    diffMs,
  };
  if (!pairwise) return figure;
  const [reference, pairwiseMs] = time(() => naiveDiffAccess(before, after, synth.nodes));
  if (JSON.stringify(reference) !== JSON.stringify(diff))
    throw new Error(`the diff at ${shape.nodes} nodes differs from the pair-by-pair reference`);
  return { ...figure, pairwiseMs };
}

/** The sizes: the console's 600-node case and a larger one against the reference, then 10,000 alone. */
export const DIFF_SIZES: Array<{ shape: Shape; pairwise: boolean }> = [
  {
    shape: { nodes: 600, namedSets: 60, rules: 200, taggedShare: 0.3, devicesPerUser: 2, groupsPerUser: 2 },
    pairwise: true,
  },
  {
    shape: { nodes: 2000, namedSets: 120, rules: 500, taggedShare: 0.3, devicesPerUser: 2, groupsPerUser: 2 },
    pairwise: true,
  },
  {
    shape: { nodes: 10_000, namedSets: 500, rules: 2000, taggedShare: 0.3, devicesPerUser: 2, groupsPerUser: 2 },
    pairwise: false,
  },
];
