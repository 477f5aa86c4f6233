/**
 * bench:admission: what a replica pays to admit the map stream of a node another replica served
 * (after that one died): the upgrade's machine-key proof checked by CallerAuth.registeredMachine
 * on a real PostgreSQL, for registered nodes whose keys this process has never seen, as a
 * survivor has not seen most of a dead replica's nodes. Measured as a herd (`--parallel` at a
 * time) and one at a time, the server's CPU (this process) and PostgreSQL's (the pool's
 * backends) per admission.
 *
 * Baseline, side by side in the same run: the same proofs checked as admission did before, the
 * key's full prime-order check on every proof, then the node looked up once the nonce is taken
 * (MachineProofVerifier.verifyShared without a lookup, then getByMachineKey).
 *
 *   npm run bench:admission -- --nodes 2000 --parallel 200
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ed25519 } from '@noble/curves/ed25519.js';
import pg from 'pg';
import { signProof } from '../../../protocol/proof.ts';
import { CallerAuth } from '../../../server/http/caller-auth.ts';
import { MachineProofVerifier } from '../../../server/identity/machine-proof.ts';
import { addressPlan } from '../../../server/nodes/addresses.ts';
import { createPostgresStore } from '../../../server/store/postgres/index.ts';
import type { Store } from '../../../server/store/store.ts';
import { startPostgres } from '../../support/postgres.ts';
import { inParallel } from '../control/sim-node.ts';
import { cpuSeconds, round, statFields } from '../support/stats.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '2000' },
    parallel: { type: 'string', default: '200' },
  },
});
const N = Number(values.nodes);
const PARALLEL = Number(values.parallel);
const PATH = '/api/v1/machine/map?since=12&seq=34';
const log = (s: string) => process.stdout.write(`${s}\n`);

interface Machine {
  secret: Uint8Array;
  machineKey: string;
}

async function main(): Promise<void> {
  const postgres = await startPostgres();
  let store: Store | undefined;
  try {
    const url = await postgres.database('admission');
    store = await createPostgresStore({ url, poolSize: 10 });
    const plan = addressPlan('100.64.0.0/10', 'fd7a:115c:a1e0::/48');
    // Four fleets, one per measurement, so that no key is in this process's caches when admitted.
    const fleets: Machine[][] = [];
    for (let f = 0; f < 4; f++) {
      const fleet: Machine[] = [];
      for (let i = 0; i < N; i++) {
        const secret = ed25519.utils.randomSecretKey();
        const machineKey = Buffer.from(ed25519.getPublicKey(secret)).toString('base64');
        await store.nodes.create(
          {
            id: `n-${randomUUID()}`,
            name: `node-${f}-${i}`,
            machineKey,
            wireguardKey: randomBytes(32).toString('base64'),
            tags: ['tag:bench'],
            endpoints: [],
            advertisedRoutes: [],
            approvedRoutes: [],
            ephemeral: false,
            createdAt: Date.now(),
          },
          { addressFor: (i) => plan.addressFor(i) },
        );
        fleet.push({ secret, machineKey });
      }
      fleets.push(fleet);
    }
    const s = store;
    const cluster = await clusterPids(url);
    const pgCpu = () => cluster().reduce((sum, pid) => sum + cpuOf(pid), 0);
    const proofsOf = (fleet: Machine[]) =>
      fleet.map((m) =>
        signProof({
          machinePrivateKey: m.secret,
          method: 'GET',
          pathWithQuery: PATH,
          body: new Uint8Array(),
          nowMs: Date.now(),
        }),
      );

    const baselineVerifier = new MachineProofVerifier(undefined, s.proofNonces);
    const baseline = async (header: string) => {
      const { machineKey } = await baselineVerifier.verifyShared(header, 'GET', PATH, new Uint8Array(), Date.now());
      if (!(await s.nodes.getByMachineKey(machineKey))) throw new Error('node not found');
    };
    const auth = new CallerAuth(s, new MachineProofVerifier(undefined, s.proofNonces), Date.now);
    const current = (header: string) => auth.registeredMachine(header, 'GET', PATH, new Uint8Array());

    const measure = async (fleet: Machine[], parallel: number, admit: (h: string) => Promise<unknown>) => {
      const proofs = proofsOf(fleet);
      const cpu0 = process.cpuUsage();
      const pg0 = pgCpu();
      const t0 = performance.now();
      await inParallel(proofs, parallel, admit);
      const wallMs = performance.now() - t0;
      const used = process.cpuUsage(cpu0);
      return {
        cpuMsEach: round((used.user + used.system) / 1000 / fleet.length, 3),
        pgCpuMsEach: round(((pgCpu() - pg0) * 1000) / fleet.length, 3),
        perSec: round((fleet.length / wallMs) * 1000),
      };
    };
    const herdBase = await measure(fleets[0]!, PARALLEL, baseline);
    const herdNow = await measure(fleets[1]!, PARALLEL, current);
    const oneBase = await measure(fleets[2]!, 1, baseline);
    const oneNow = await measure(fleets[3]!, 1, current);
    const line = (what: string, r: typeof herdNow) =>
      log(
        `${what.padEnd(34)} ${r.cpuMsEach} ms server CPU, ${r.pgCpuMsEach} ms PostgreSQL CPU each; ${r.perSec} admissions/s`,
      );
    log(`bench:admission  ${N} registered nodes per measurement, keys never seen by this process; PostgreSQL 15`);
    line(`herd of ${PARALLEL}, baseline:`, herdBase);
    line(`herd of ${PARALLEL}, now:`, herdNow);
    line('one at a time, baseline:', oneBase);
    line('one at a time, now:', oneNow);
    log(
      JSON.stringify({
        nodes: N,
        parallel: PARALLEL,
        herdBaselineCpuMsEach: herdBase.cpuMsEach,
        herdCpuMsEach: herdNow.cpuMsEach,
        herdBaselinePgCpuMsEach: herdBase.pgCpuMsEach,
        herdPgCpuMsEach: herdNow.pgCpuMsEach,
        herdBaselinePerSec: herdBase.perSec,
        herdPerSec: herdNow.perSec,
        serialBaselineCpuMsEach: oneBase.cpuMsEach,
        serialCpuMsEach: oneNow.cpuMsEach,
        serialBaselinePgCpuMsEach: oneBase.pgCpuMsEach,
        serialPgCpuMsEach: oneNow.pgCpuMsEach,
      }),
    );
  } finally {
    await store?.close();
    await postgres.stop();
  }
}

/** The cluster's processes (children of its postmaster, the parent of any backend). */
async function clusterPids(url: string): Promise<() => number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await client.end();
  const postmaster = Number(statFields(rows[0]!.pid)?.[1]);
  return () =>
    readdirSync('/proc').flatMap((d) => {
      if (!/^\d+$/.test(d)) return [];
      const fields = statFields(Number(d));
      return fields && Number(fields[1]) === postmaster ? [Number(d)] : [];
    });
}

/** A backend gone since the listing used nothing more. */
const cpuOf = (pid: number) => (statFields(pid) ? cpuSeconds(pid) : 0);

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
