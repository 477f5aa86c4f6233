import { expect, it } from 'vitest';
import { run } from '../../../client/system/run.ts';
import { KernelWireGuardDevice } from '../../../client/wireguard/kernel-device.ts';
import { openWireGuardDevice } from '../../../client/wireguard/open-device.ts';
import { WireGuardGoSupervisor } from '../../../client/wireguard/supervisor.ts';
import { WireGuardGoDevice } from '../../../client/wireguard/wireguard-go-device.ts';
import { Lab } from '../../e2e/harness/lab.ts';
import { describeWith, hasCommand, isRoot } from '../../support/prerequisites.ts';
import { deviceCases } from './device.case.ts';

const prereqs = [isRoot(), hasCommand('wireguard-go'), hasCommand('wg', 'wireguard-tools')];

// The kernel driver configures through `wg`, which speaks to userspace devices too: the same
// contract runs here on links wireguard-go provides (this machine has no WireGuard module).
deviceCases('the wg-tool (kernel) driver', prereqs, async (netns, iface) => {
  const link = new WireGuardGoSupervisor({ iface, netns });
  await link.start();
  const device = KernelWireGuardDevice.attach({ iface, netns });
  return { device, close: async () => (await device.close(), await link.stop()) };
});

describeWith(prereqs, 'choosing the WireGuard implementation', () => {
  it('uses the kernel module when this kernel can create a WireGuard link, wireguard-go otherwise', async () => {
    const lab = await Lab.create();
    try {
      const netns = await lab.addNamespace('k');
      const probe = await run('ip', ['-n', netns, 'link', 'add', lab.uniqueName('p'), 'type', 'wireguard']).then(
        () => true,
        () => false,
      );
      const device = await openWireGuardDevice({ iface: lab.uniqueName('d'), netns });
      expect(device).toBeInstanceOf(probe ? KernelWireGuardDevice : WireGuardGoDevice);
      await device.close();
      const forced = await openWireGuardDevice({ iface: lab.uniqueName('f'), netns, prefer: 'wireguard-go' });
      expect(forced).toBeInstanceOf(WireGuardGoDevice);
      await forced.close();
    } finally {
      await lab.cleanup();
    }
  });

  it('says plainly when the kernel has no WireGuard', async () => {
    const lab = await Lab.create();
    try {
      const netns = await lab.addNamespace('k');
      const made = await KernelWireGuardDevice.create({ iface: lab.uniqueName('k'), netns }).then(
        (d) => d.close().then(() => 'created'),
        (err: unknown) => err,
      );
      if (made !== 'created') expect(made).toMatchObject({ code: 'wireguard.kernel_unavailable', message: expect.stringContaining('no WireGuard module') });
    } finally {
      await lab.cleanup();
    }
  });
});
