import { describe, expect, it } from 'vitest';
import { SystemResolver } from '../../../client/dns/system-resolver.ts';
import type { Runner } from '../../../client/system/run.ts';

/** Records the commands; `status` answers as systemd-resolved would, or fails as without it. */
function recorder(resolved: boolean): { runner: Runner; calls: string[] } {
  const calls: string[] = [];
  const runner: Runner = async (program, args) => {
    calls.push([program, ...args].join(' '));
    if (args[0] === 'status' && !resolved)
      throw new Error('Failed to get global data: Unit dbus-org.freedesktop.resolve1.service not found.');
    return { stdout: '', stderr: '' };
  };
  return { runner, calls };
}

// systemd-resolved does not run on the test machines; these pin the commands the agent gives it.
describe('SystemResolver: split DNS for the mesh domain', () => {
  it('with systemd-resolved, sends only the mesh domain to the agent, on the mesh interface', async () => {
    const { runner, calls } = recorder(true);
    expect(
      await new SystemResolver('trellis0', undefined, runner).apply('100.100.100.100', 'mesh.example.internal'),
    ).toBe('systemd-resolved');
    expect(calls).toEqual([
      'resolvectl status trellis0',
      'resolvectl dns trellis0 100.100.100.100',
      'resolvectl domain trellis0 ~mesh.example.internal',
      'resolvectl default-route trellis0 false',
    ]);
  });

  it('without it, changes nothing on the machine and says so', async () => {
    const { runner, calls } = recorder(false);
    expect(
      await new SystemResolver('trellis0', undefined, runner).apply('100.100.100.100', 'mesh.example.internal'),
    ).toBe('none');
    expect(calls).toEqual(['resolvectl status trellis0']);
  });
});
