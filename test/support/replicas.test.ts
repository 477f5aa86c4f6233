import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from './prerequisites.ts';
import { Haproxy, haproxyPrerequisite } from './haproxy.ts';
import { ReplicaSet } from './replicas.ts';

/**
 * The replica launcher: real `trellis-server serve` processes, killed and restarted. Here each
 * has its own SQLite file (the launcher does not care which store the flags name); the
 * scale-out suites give them one PostgreSQL.
 */
describeWith([haproxyPrerequisite()], 'server replicas as processes (test support)', () => {
  let set: ReplicaSet;
  let proxy: Haproxy;

  beforeAll(async () => {
    set = await ReplicaSet.start({ count: 2 });
    proxy = await Haproxy.start({ backends: set.backends, checkIntervalMs: 100 });
    await proxy.waitFor(['r0', 'r1'], 'UP');
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await set?.stop();
  });

  it('starts each replica on its own port and data directory, ready to serve', async () => {
    const [r0, r1] = set.replicas;
    expect(r0!.port).not.toBe(r1!.port);
    expect(r0!.dataDir).not.toBe(r1!.dataDir);
    for (const r of set.replicas) expect(await r.readiness()).toBe(200);
    const res = await fetch(`${r0!.url}/api/v1/nodes`, { headers: { authorization: `Bearer ${set.adminKey}` } });
    expect(res.status).toBe(200);
  });

  it('kill -9 ends a replica at once; haproxy takes it out; a restart on the same port brings it back', async () => {
    const r1 = set.replicas[1]!;
    const pid = r1.pid!;
    await r1.kill9();
    expect(r1.running).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(await r1.readiness()).toBe(0);
    await proxy.waitFor(['r1'], 'DOWN');
    for (let i = 0; i < 4; i++) expect((await fetch(`${proxy.url}/healthz`)).status).toBe(200);

    await r1.start();
    expect(r1.pid).not.toBe(pid);
    expect(await r1.readiness()).toBe(200);
    await proxy.waitFor(['r1'], 'UP');
  }, 90_000);
});
