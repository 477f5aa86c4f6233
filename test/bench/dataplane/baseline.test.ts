import { expect, it } from 'vitest';
import { run } from '../../../client/system/run.ts';
import { describeWith, hasCommand, isRoot } from '../../support/prerequisites.ts';
import { measureBaseline } from './baseline.ts';

// Keeps the benchmark's reference path working; the figure itself is the benchmark's business.
describeWith([isRoot(), hasCommand('wireguard-go'), hasCommand('wg', 'wireguard-tools'), hasCommand('iperf3')], 'the data-plane baseline', () => {
  it('measures iperf3 through a hand-configured wireguard-go pair and leaves nothing behind', async () => {
    const result = await measureBaseline({ seconds: 1 });
    expect(result.mtu).toBe(1420);
    expect(result.mbps).toBeGreaterThan(10);
    expect((await run('ip', ['netns', 'list'])).stdout).not.toContain(`tr${process.pid}-`);
  });
});
