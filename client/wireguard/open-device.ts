import type { WireGuardDevice } from './device.ts';
import { WireGuardError } from './errors.ts';
import { KernelWireGuardDevice } from './kernel-device.ts';
import { WireGuardGoDevice, type WireGuardGoDeviceOptions } from './wireguard-go-device.ts';

/**
 * The device the agent uses: the kernel module when this kernel has it (faster, nothing to
 * supervise), otherwise a supervised wireguard-go. Both behave the same behind WireGuardDevice.
 */
interface OpenDeviceOptions extends WireGuardGoDeviceOptions {
  /** `auto` (default): kernel if available; `wireguard-go`: never try the kernel. */
  prefer?: 'auto' | 'wireguard-go';
}

export async function openWireGuardDevice(options: OpenDeviceOptions): Promise<WireGuardDevice> {
  if (options.prefer !== 'wireguard-go') {
    try {
      return await KernelWireGuardDevice.create({
        iface: options.iface,
        ...(options.netns !== undefined && { netns: options.netns }),
      });
    } catch (err) {
      if (!(err instanceof WireGuardError && err.code === 'wireguard.kernel_unavailable')) throw err;
    }
  }
  return WireGuardGoDevice.start(options);
}
