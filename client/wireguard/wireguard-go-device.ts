import { DeviceReconciler } from './reconciler.ts';
import { ReconciledDevice } from './reconciled-device.ts';
import { WireGuardGoSupervisor, type SupervisorEvent, type SupervisorOptions } from './supervisor.ts';

/**
 * A WireGuardDevice backed by a supervised wireguard-go process and its UAPI socket.
 * When wireguard-go is restarted after a crash the new device is empty; this class then
 * applies the last configuration and peers again before telling the owner (`restarted`),
 * whose cue it is to restore addresses and routes on the new interface and to call
 * initiateHandshakes (peers still hold sessions the new process does not know).
 */
export interface WireGuardGoDeviceOptions extends Omit<SupervisorOptions, 'onEvent'> {
  onEvent?: (event: SupervisorEvent | { type: 'reconfigure_failed'; error: unknown }) => void;
}

export class WireGuardGoDevice extends ReconciledDevice {
  readonly iface: string;
  readonly netns: string | undefined;
  private readonly supervisor: WireGuardGoSupervisor;
  protected readonly reconciler: DeviceReconciler;

  private constructor(private readonly options: WireGuardGoDeviceOptions) {
    super();
    this.iface = options.iface;
    this.netns = options.netns;
    this.supervisor = new WireGuardGoSupervisor({ ...options, onEvent: (e) => this.onSupervisorEvent(e) });
    this.reconciler = new DeviceReconciler(this.supervisor.uapi);
  }

  static async start(options: WireGuardGoDeviceOptions): Promise<WireGuardGoDevice> {
    const device = new WireGuardGoDevice(options);
    await device.supervisor.start();
    return device;
  }

  get pid(): number | undefined {
    return this.supervisor.pid;
  }

  /** True when this device took over a wireguard-go that was already running. */
  get adopted(): boolean {
    return this.supervisor.adopted;
  }

  close(): Promise<void> {
    return this.reconciler.serial(() => this.supervisor.stop());
  }

  private onSupervisorEvent(event: SupervisorEvent): void {
    if (event.type !== 'restarted') {
      this.options.onEvent?.(event);
      return;
    }
    this.reconciler.reapply().then(
      () => this.options.onEvent?.(event),
      (error: unknown) => this.options.onEvent?.({ type: 'reconfigure_failed', error }),
    );
  }
}
