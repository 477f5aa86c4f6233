import { existsSync } from 'node:fs';
import type { WireGuardDevice } from '../wireguard/device.ts';
import { openWireGuardDevice } from '../wireguard/open-device.ts';
import type { SupervisorEvent } from '../wireguard/supervisor.ts';

/**
 * How the engine gets its device. A wireguard-go left serving our interface (by the previous
 * agent, which stopped or was killed) is adopted with its tunnels rather than fought over:
 * trying the kernel first would fail on the existing interface name.
 */
interface DeviceChoice {
  iface: string;
  prefer: 'auto' | 'wireguard-go';
  /** wireguard-go's log; given, it runs in its own session and outlives the agent. */
  logFile?: string;
  onEvent?: (event: SupervisorEvent | { type: 'reconfigure_failed'; error: unknown }) => void;
}

export function deviceOpener(choice: DeviceChoice): (onRestarted: () => void) => Promise<WireGuardDevice> {
  return (onRestarted) => {
    const leftRunning = existsSync(`/var/run/wireguard/${choice.iface}.sock`);
    return openWireGuardDevice({
      iface: choice.iface,
      prefer: leftRunning ? 'wireguard-go' : choice.prefer,
      adoptExisting: true,
      ...(choice.logFile !== undefined && { logFile: choice.logFile }),
      onEvent: (event) => {
        choice.onEvent?.(event);
        if (event.type === 'restarted') onRestarted();
      },
    });
  };
}
