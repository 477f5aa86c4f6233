import { describe, expect, it } from 'vitest';
import { CommandError } from '../../../client/system/errors.ts';
import type { Runner } from '../../../client/system/run.ts';
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

  it('refuses to take over an interface of that name that is not WireGuard', async () => {
    const lab = await Lab.create();
    try {
      const netns = await lab.addNamespace('k');
      const iface = lab.uniqueName('b');
      await run('ip', ['-n', netns, 'link', 'add', iface, 'type', 'bridge']);
      await expect(KernelWireGuardDevice.create({ iface, netns })).rejects.toMatchObject({
        code: 'wireguard.start_failed',
        message: expect.stringContaining(`cannot create WireGuard interface ${iface}: RTNETLINK answers: File exists`),
      });
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
      if (made !== 'created')
        expect(made).toMatchObject({
          code: 'wireguard.kernel_unavailable',
          message: expect.stringContaining('no WireGuard module'),
        });
    } finally {
      await lab.cleanup();
    }
  });
});

// This machine has no WireGuard module, so the one branch that needs a kernel WireGuard link
// already present runs against a scripted `ip` (the only place these tests do not use the real thing).
describe('a kernel WireGuard interface left by a previous agent', () => {
  it('is taken over (its peers and sessions live in the kernel) and removed again on close', async () => {
    const calls: string[] = [];
    const runner: Runner = async (program, args) => {
      calls.push([program, ...args].join(' '));
      if (args.includes('add'))
        throw new CommandError(
          'system.command_failed',
          'ip failed',
          [program, ...args],
          2,
          'RTNETLINK answers: File exists\n',
        );
      if (args.includes('-details'))
        return { stdout: JSON.stringify([{ ifname: 'wg0', linkinfo: { info_kind: 'wireguard' } }]), stderr: '' };
      return { stdout: '', stderr: '' };
    };
    const device = await KernelWireGuardDevice.create({ iface: 'wg0', runner });
    await device.close();
    expect(calls).toEqual(['ip link add wg0 type wireguard', 'ip -details -json link show dev wg0', 'ip link del wg0']);
  });
});
