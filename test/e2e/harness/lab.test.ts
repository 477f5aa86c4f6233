import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run } from '../../../client/system/run.ts';
import { describeWith, hasCommand, isRoot } from '../../support/prerequisites.ts';
import { Lab, type Host } from './lab.ts';
import { addNat, type Nat } from './nat.ts';

describeWith([isRoot(), hasCommand('ip', 'iproute2'), hasCommand('iptables')], 'the end-to-end lab', () => {
  let lab: Lab;
  let a: Host;
  let b: Host;
  let nat: Nat;
  let inner: Host;

  beforeAll(async () => {
    lab = await Lab.create();
    a = await lab.addHost('a');
    b = await lab.addHost('b');
    nat = await addNat(lab, 'nat');
    inner = await nat.addHost('inner');
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('joins hosts on a private segment where they reach each other', async () => {
    expect(a.address).not.toBe(b.address);
    expect(await a.ping(b.address)).toBe(true);
  });

  it('runs TCP servers and clients inside the namespaces', async () => {
    await b.serveTcp([8080]);
    const ok = await a.connectTcp(b.address, 8080);
    expect(ok).toEqual({ ok: true, reply: `hello from b port 8080 to ::ffff:${a.address}` });
    expect(await a.connectTcp(b.address, 8081)).toMatchObject({ ok: false, reason: 'refused' });
  });

  it("never changes the machine's own namespace", async () => {
    const { stdout } = await run('ip', ['-o', 'link']);
    expect(stdout).not.toContain(lab.prefix);
    expect(stdout).not.toMatch(/\bs\d+@/);
  });

  it("puts hosts behind a NAT: they reach out under the router's address, nobody reaches in", async () => {
    await a.serveTcp([9090]);
    expect(await inner.connectTcp(a.address, 9090)).toEqual({
      ok: true,
      reply: `hello from a port 9090 to ::ffff:${nat.publicAddress}`,
    });
    await inner.serveTcp([9091]);
    expect((await a.connectTcp(nat.publicAddress, 9091, 500)).ok).toBe(false);
    expect(await a.ping(inner.address)).toBe(false);
  });

  it('maps one inside socket to one outside port for every destination (endpoint-independent), or not (symmetric)', async () => {
    await a.reflectUdp(3478);
    await b.reflectUdp(3478);
    const reflectors = [`${a.address}:3478`, `${b.address}:3478`];
    const seen = await inner.probeUdp(40000, reflectors);
    expect(seen).toEqual([`${nat.publicAddress}:40000`, `${nat.publicAddress}:40000`]);

    const sym = await addNat(lab, 'sym', { mapping: 'symmetric' });
    const behindSym = await sym.addHost('insym');
    const [first, second] = await behindSym.probeUdp(40000, reflectors);
    expect(first!.split(':')[0]).toBe(sym.publicAddress);
    expect(second!.split(':')[0]).toBe(sym.publicAddress);
    expect(first!.split(':')[1]).not.toBe(second!.split(':')[1]);
  });

  it('sweeps namespaces that a dead test process left behind, and only those', async () => {
    const exited = spawnSync('true');
    const dead = `tr${exited.pid}-1-left`;
    const live = `${lab.prefix}kept`;
    await run('ip', ['netns', 'add', dead]);
    await run('ip', ['netns', 'add', live]);
    const other = await Lab.create();
    await other.cleanup();
    const { stdout } = await run('ip', ['netns', 'list']);
    await run('ip', ['netns', 'del', live]);
    expect(stdout).not.toContain(dead);
    expect(stdout).toContain(live);
  });

  it('removes every namespace it made on cleanup', async () => {
    const other = await Lab.create();
    const host = await other.addHost('x');
    host.spawn('sleep', ['60']);
    await other.cleanup();
    const { stdout } = await run('ip', ['netns', 'list']);
    expect(stdout).not.toContain(other.prefix);
  });
});
