/**
 * `npm run fuzz`: every property of the `*.fuzz.test.ts` files, with TRELLIS_FUZZ_RUNS times the
 * inputs of `npm test` (default 100) and a fresh seed, then how many inputs each property tried.
 * Extra arguments go to vitest (a file filter, for one).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Tried {
  name: string;
  runs: number;
  seed: number;
}

const dir = mkdtempSync(join(tmpdir(), 'trellis-fuzz-'));
const report = join(dir, 'report.jsonl');
const runs = process.env.TRELLIS_FUZZ_RUNS ?? '100';
const filters = process.argv.slice(2);
const vitest = spawnSync(
  'npx',
  ['vitest', 'run', '--testTimeout=0', ...(filters.length > 0 ? filters : ['.fuzz.test.ts'])],
  { stdio: 'inherit', env: { ...process.env, TRELLIS_FUZZ_RUNS: runs, TRELLIS_FUZZ_REPORT: report } },
);

const tried: Tried[] = existsSync(report)
  ? readFileSync(report, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Tried)
  : [];
rmSync(dir, { recursive: true, force: true });

tried.sort((a, b) => a.name.localeCompare(b.name));
const width = String(Math.max(0, ...tried.map((t) => t.runs))).length;
console.log(`\nfuzz: inputs tried per property (TRELLIS_FUZZ_RUNS=${runs})`);
for (const t of tried) console.log(`  ${String(t.runs).padStart(width)}  ${t.name}  (seed ${t.seed})`);
const total = tried.reduce((sum, t) => sum + t.runs, 0);
console.log(`fuzz: ${total} inputs over ${tried.length} properties`);
process.exit(vitest.status ?? 1);
