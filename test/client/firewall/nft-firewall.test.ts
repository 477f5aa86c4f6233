import { afterAll, beforeAll, expect, it } from 'vitest';
import { NftFirewall } from '../../../client/firewall/firewall.ts';
import { compileFilter } from '../../../client/firewall/compile.ts';
import { loadNftScript } from '../../../client/firewall/nft.ts';
import type { FilterRule } from '../../../protocol/filter.ts';
import { Lab, type Host } from '../../e2e/harness/lab.ts';
import { describeWith, hasCommand, isRoot } from '../../support/prerequisites.ts';

// Real packets, real nftables: b filters what arrives on its eth0 as if it were the mesh interface.
describeWith([isRoot(), hasCommand('nft', 'nftables')], 'the inbound filter in nftables', () => {
  let lab: Lab;
  let a: Host;
  let b: Host;
  let c: Host;
  let fw: NftFirewall;
  const tcp = (from: Host, port: number) => from.connectTcp(b.address, port, 700).then((r) => r.ok);
  const allow = (src: Host[], ports: Array<[number, number]>, ipProto = [6]): FilterRule => ({
    srcIPs: src.map((h) => h.address),
    dstPorts: ports.map(([first, last]) => ({ ip: b.address, ports: { first, last } })),
    ipProto,
  });

  beforeAll(async () => {
    lab = await Lab.create();
    [a, b, c] = [await lab.addHost('a'), await lab.addHost('b'), await lab.addHost('c')];
    fw = new NftFirewall({ iface: 'eth0', netns: b.netns });
    await b.serveTcp([22, 80, 8080]);
    await a.serveTcp([5000]);
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('without a ruleset everything passes (the baseline the next checks differ from)', async () => {
    expect(await fw.current()).toBeUndefined();
    expect([await tcp(a, 80), await tcp(c, 22), await c.ping(b.address)]).toEqual([true, true, true]);
  });

  it('lets a reach b:80 only: b:22 is blocked for a, c reaches neither, and ping is not allowed', async () => {
    await fw.apply([allow([a], [[80, 80]])]);
    expect(await tcp(a, 80)).toBe(true);
    expect(await tcp(a, 22)).toBe(false);
    expect(await tcp(c, 80)).toBe(false);
    expect(await tcp(c, 22)).toBe(false);
    expect(await a.ping(b.address)).toBe(false);
  });

  it("lets replies to b's own connections and pings back in", async () => {
    expect((await b.connectTcp(a.address, 5000)).ok).toBe(true);
    expect(await b.ping(a.address)).toBe(true);
  });

  it('allows ICMP echo from the sources of a rule with protocol 1', async () => {
    await fw.apply([allow([a], [[80, 80]]), allow([c], [[0, 65535]], [1])]);
    expect(await c.ping(b.address)).toBe(true);
    expect(await a.ping(b.address)).toBe(false);
    expect(await tcp(c, 80)).toBe(false);
  });

  it('opens and closes ports live when the rules are replaced, and "*" admits every source', async () => {
    await fw.apply([allow([a], [[22, 22]])]);
    expect([await tcp(a, 22), await tcp(a, 80)]).toEqual([true, false]);
    await fw.apply([{ srcIPs: ['*'], dstPorts: [{ ip: '*', ports: { first: 8000, last: 8100 } }], ipProto: [6] }]);
    expect([await tcp(a, 8080), await tcp(c, 8080), await tcp(a, 22)]).toEqual([true, true, false]);
  });

  it('keeps the old ruleset when a new one cannot be loaded (one transaction)', async () => {
    await fw.apply([allow([a], [[80, 80]])]);
    const before = await fw.current();
    const broken = compileFilter([allow([c], [[22, 22]])], { iface: 'eth0' }).replace('counter drop', 'counter dropp');
    await expect(loadNftScript(broken, b.netns)).rejects.toMatchObject({ code: 'system.command_failed' });
    expect(await fw.current()).toBe(before);
    expect([await tcp(a, 80), await tcp(c, 22)]).toEqual([true, false]);
  });

  it('refuses invalid rules before touching the ruleset', async () => {
    const before = await fw.current();
    await expect(
      fw.apply([{ srcIPs: ['100.64.0.1'], dstPorts: [{ ip: '*', ports: { first: 1, last: 70000 } }], ipProto: [6] }]),
    ).rejects.toMatchObject({
      code: 'firewall.invalid_rule',
      where: 'rules[0].dstPorts[0].ports.last',
    });
    expect(await fw.current()).toBe(before);
  });

  it('loads a rule with thousands of sources quickly, as one set', async () => {
    const sources = Array.from({ length: 5000 }, (_, i) => `100.${64 + (i >> 15)}.${(i >> 7) & 255}.${(i * 2) & 255}`); // none adjacent: 5000 elements
    const t0 = performance.now();
    await fw.apply([
      { srcIPs: [...sources, a.address], dstPorts: [{ ip: b.address, ports: { first: 80, last: 80 } }], ipProto: [6] },
    ]);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(2_000);
    expect(await tcp(a, 80)).toBe(true);
    expect(await tcp(c, 80)).toBe(false);
    const listed = (await fw.current())!;
    expect(listed.match(/^\s+ip saddr @/gm)).toHaveLength(1);
    expect(listed.match(/\b100\.\d+\.\d+\.\d+\b/g)!.length).toBeGreaterThanOrEqual(5000);
  });

  it('clear removes the table and the filter with it', async () => {
    await fw.clear();
    expect(await fw.current()).toBeUndefined();
    expect(await tcp(c, 22)).toBe(true);
    await fw.clear(); // and is idempotent
  });
});
