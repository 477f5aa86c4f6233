import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { listNftTable } from '../../../client/firewall/nft.ts';
import { prefixOrThrow } from '../../../client/netconf/prefix.ts';
import { Forwarding } from '../../../client/router/forwarding.ts';
import { ROUTER_TABLE } from '../../../client/router/ruleset.ts';
import { SubnetRouter } from '../../../client/router/subnet-router.ts';
import { run } from '../../../client/system/run.ts';
import { Lab } from '../../e2e/harness/lab.ts';
import { describeWith, hasCommand, isRoot } from '../../support/prerequisites.ts';

describeWith(
  [isRoot(), hasCommand('nft', 'nftables'), hasCommand('sysctl', 'procps')],
  'forwarding on a router',
  () => {
    let lab: Lab;
    let netns: string;
    let dir: string;
    const sysctl = async (key: string) => (await run('sysctl', ['-n', key], { netns })).stdout.trim();
    const setSysctl = (key: string, value: string) => run('sysctl', ['-q', '-w', `${key}=${value}`], { netns });
    const v4 = 'net.ipv4.ip_forward';
    const v6 = 'net.ipv6.conf.all.forwarding';

    beforeAll(async () => {
      lab = await Lab.create({ tag: 'gwr' });
      netns = await lab.addNamespace('fwd');
    });
    afterAll(async () => {
      await lab?.cleanup();
    });
    beforeEach(async () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = mkdtempSync(join(tmpdir(), 'gwr-forwarding-'));
      await setSysctl(v4, '0');
      await setSysctl(v6, '1');
    });

    it('turns on what was off and puts back exactly that when the last holder lets go', async () => {
      const a = new Forwarding(join(dir, 'forwarding.json'), netns);
      await a.hold('subnet-router');
      expect([await sysctl(v4), await sysctl(v6)]).toEqual(['1', '1']);
      // Another part of the agent (an exit node) holds it too: one letting go changes nothing.
      await a.hold('exit-node');
      await a.release('subnet-router');
      expect(await sysctl(v4)).toBe('1');
      await a.release('exit-node');
      // IPv6 forwarding was on before: it stays on; IPv4 goes back off.
      expect([await sysctl(v4), await sysctl(v6)]).toEqual(['0', '1']);
    });

    it('remembers the previous values across agent restarts (the record is a file)', async () => {
      const file = join(dir, 'forwarding.json');
      await new Forwarding(file, netns).hold('subnet-router');
      await new Forwarding(file, netns).hold('subnet-router'); // a restarted agent adopts the router
      await new Forwarding(file, netns).release('subnet-router');
      expect(await sysctl(v4)).toBe('0');
    });

    it('starts afresh from a record it cannot read', async () => {
      const file = join(dir, 'forwarding.json');
      writeFileSync(file, '{ not json');
      const f = new Forwarding(file, netns);
      await f.hold('subnet-router');
      await f.release('subnet-router');
      expect(await sysctl(v4)).toBe('0');
    });

    it('loads the router table before forwarding, and removes both again', async () => {
      const router = new SubnetRouter(new Forwarding(join(dir, 'forwarding.json'), netns), netns);
      await router.apply({
        iface: 'trellis0',
        routes: [prefixOrThrow('10.1.0.0/24'), prefixOrThrow('10.1.0.0/16')],
        snat: true,
        gatewaySources: [prefixOrThrow('10.9.0.0/24')],
        addresses: { ipv4: '100.64.0.5', ipv6: 'fd7a:115c:a1e0::5' },
        meshRanges: [prefixOrThrow('100.64.0.0/10'), prefixOrThrow('fd7a:115c:a1e0::/48')],
      });
      expect(await sysctl(v4)).toBe('1');
      const table = await listNftTable('inet', ROUTER_TABLE, netns);
      expect(table).toContain('elements = { 10.1.0.0/16 }'); // overlapping routes merged
      expect(table).toContain('snat ip to 100.64.0.5');
      await router.apply(undefined);
      expect(await sysctl(v4)).toBe('0');
      expect(await listNftTable('inet', ROUTER_TABLE, netns)).toBeUndefined();
    });
  },
);
