import { expect, it } from 'vitest';
import { run } from '../../../client/system/run.ts';
import { Lab } from '../../e2e/harness/lab.ts';
import { addNat } from '../../e2e/harness/nat.ts';
import { describeWith, hasCommand, isRoot } from '../../support/prerequisites.ts';
import { measureBaseline } from '../dataplane/baseline.ts';

// Keeps bench:paths' reference path working: the hand-configured pair punches through two NATs.
describeWith(
  [
    isRoot(),
    hasCommand('wireguard-go'),
    hasCommand('wg', 'wireguard-tools'),
    hasCommand('iperf3'),
    hasCommand('iptables'),
  ],
  'the paths baseline',
  () => {
    it('measures iperf3 through a hand-configured wireguard-go pair behind two NATs and leaves nothing behind', async () => {
      const lab = await Lab.create();
      try {
        const [na, nb] = [await addNat(lab, 'na'), await addNat(lab, 'nb')];
        const hosts = [await na.addHost('a'), await nb.addHost('b')] as const;
        const result = await measureBaseline({
          hosts,
          seconds: 1,
          mtu: 1280,
          listenPort: 51900,
          keepaliveSeconds: 1,
          endpoints: [`${nb.publicAddress}:51900`, `${na.publicAddress}:51900`],
        });
        expect(result.mtu).toBe(1280);
        expect(result.mbps).toBeGreaterThan(10);
        expect((await hosts[0].exec('ip', ['-o', 'link'])).stdout).not.toContain(lab.stem);
      } finally {
        await lab.cleanup();
      }
      expect((await run('ip', ['netns', 'list'])).stdout).not.toContain(`tr${process.pid}-`);
    }, 20_000);
  },
);
