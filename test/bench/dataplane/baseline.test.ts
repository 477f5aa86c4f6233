import { expect, it } from 'vitest';
import { run } from '../../../client/system/run.ts';
import { describeWith, hasCommand, isRoot } from '../../support/prerequisites.ts';
import { measureBaseline } from './baseline.ts';

// Keeps the benchmark's reference path working; the figure itself is the benchmark's business.
describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('wg', 'wireguard-tools'), hasCommand('iperf3')],
  'the data-plane baseline',
  () => {
    it('measures iperf3 through a hand-configured wireguard-go pair and leaves nothing behind', async () => {
      const result = await measureBaseline({ seconds: 1 });
      expect(result.mtu).toBe(1420);
      expect(result.mbps).toBeGreaterThan(10);
      expect(result.wireguardCpuSeconds).toBeGreaterThan(0);
      expect((await run('ip', ['netns', 'list'])).stdout).not.toContain(`tr${process.pid}-`);
    });

    // measureBaseline checks each wireguard-go's session itself and throws when it is not the one asked for.
    it("can run wireguard-go in the load generator's session instead of one of its own", async () => {
      const result = await measureBaseline({ seconds: 1, session: 'load' });
      expect(result.mbps).toBeGreaterThan(10);
    });
  },
);
