import type { DeviceConfig, WireGuardDevice } from './device.ts';
import type { PeerChanges, PeerConfig } from './peer-diff.ts';
import type { DeviceReconciler } from './reconciler.ts';
import type { DeviceState } from './uapi-format.ts';

/**
 * What every driver does the same way, through its DeviceReconciler; a driver adds only how its
 * device comes to exist and how it goes away.
 */
export abstract class ReconciledDevice implements WireGuardDevice {
  abstract readonly iface: string;
  abstract readonly netns: string | undefined;
  protected abstract readonly reconciler: DeviceReconciler;

  configure(config: DeviceConfig): Promise<void> {
    return this.reconciler.configure(config);
  }

  applyPeers(desired: readonly PeerConfig[]): Promise<PeerChanges> {
    return this.reconciler.applyPeers(desired);
  }

  setEndpoint(publicKey: string, endpoint: string): Promise<void> {
    return this.reconciler.setEndpoint(publicKey, endpoint);
  }

  rebind(): Promise<void> {
    return this.reconciler.rebind();
  }

  initiateHandshakes(publicKeys?: readonly string[]): Promise<void> {
    return this.reconciler.initiateHandshakes(publicKeys);
  }

  restartHandshakes(publicKeys?: readonly string[]): Promise<void> {
    return this.reconciler.restartHandshakes(publicKeys);
  }

  renewSessions(publicKeys: readonly string[]): Promise<void> {
    return this.reconciler.renewSessions(publicKeys);
  }

  state(): Promise<DeviceState> {
    return this.reconciler.state();
  }

  abstract close(): Promise<void>;
}
