import type { DeviceConfig, WireGuardDevice } from './device.ts';
import { publicKeyOf } from './keys.ts';
import { diffPeers, type PeerChanges, type PeerConfig } from './peer-diff.ts';
import { WireGuardGoSupervisor, type SupervisorEvent, type SupervisorOptions } from './supervisor.ts';
import type { DeviceState } from './uapi-format.ts';

/**
 * A WireGuardDevice backed by a supervised wireguard-go process and its UAPI socket.
 * Calls are serialised, so a diff is always computed against the state it will change.
 * When wireguard-go is restarted after a crash the new device is empty; this class then
 * applies the last configuration and peers again before telling the owner (`restarted`),
 * whose cue it is to restore addresses, routes and rules on the new interface.
 */
export interface WireGuardGoDeviceOptions extends Omit<SupervisorOptions, 'onEvent'> {
  onEvent?: (event: SupervisorEvent | { type: 'reconfigure_failed'; error: unknown }) => void;
}

export class WireGuardGoDevice implements WireGuardDevice {
  readonly iface: string;
  readonly netns: string | undefined;
  private readonly supervisor: WireGuardGoSupervisor;
  private config: DeviceConfig | undefined;
  private desiredPeers: readonly PeerConfig[] = [];
  private lastApplied = new Map<string, PeerConfig>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: WireGuardGoDeviceOptions) {
    this.iface = options.iface;
    this.netns = options.netns;
    this.supervisor = new WireGuardGoSupervisor({ ...options, onEvent: (e) => this.onSupervisorEvent(e) });
  }

  static async start(options: WireGuardGoDeviceOptions): Promise<WireGuardGoDevice> {
    const device = new WireGuardGoDevice(options);
    await device.supervisor.start();
    return device;
  }

  get pid(): number | undefined {
    return this.supervisor.pid;
  }

  /** Sends only settings that differ: re-sending the same port would rebind the socket. */
  configure(config: DeviceConfig): Promise<void> {
    return this.serial(async () => {
      const current = await this.supervisor.uapi.get();
      const keyChanged = current.publicKey !== publicKeyOf(config.privateKey);
      const portChanged = config.listenPort !== undefined && config.listenPort !== current.listenPort;
      const markChanged = config.fwmark !== undefined && config.fwmark !== current.fwmark;
      if (keyChanged || portChanged || markChanged) {
        await this.supervisor.uapi.set({
          device: {
            ...(keyChanged && { privateKey: config.privateKey }),
            ...(portChanged && { listenPort: config.listenPort }),
            ...(markChanged && { fwmark: config.fwmark }),
          },
        });
      }
      this.config = config;
    });
  }

  /** True when this device took over a wireguard-go that was already running. */
  get adopted(): boolean {
    return this.supervisor.adopted;
  }

  applyPeers(desired: readonly PeerConfig[]): Promise<PeerChanges> {
    return this.serial(async () => {
      const current = await this.supervisor.uapi.get();
      const { sections, changes } = diffPeers(current.peers, desired, this.lastApplied);
      if (sections.length > 0) await this.supervisor.uapi.set({ peers: sections });
      this.desiredPeers = desired;
      this.lastApplied = new Map(desired.map((p) => [p.publicKey, p]));
      return changes;
    });
  }

  initiateHandshakes(publicKeys?: readonly string[]): Promise<void> {
    return this.serial(async () => {
      const wanted = publicKeys ? new Set(publicKeys) : undefined;
      const peers = (await this.supervisor.uapi.get()).peers.filter((p) => p.endpoint && (!wanted || wanted.has(p.publicKey)));
      if (peers.length === 0) return;
      // wireguard-go sends a keepalive at once when a peer's persistent keepalive goes from 0 to
      // non-zero (and so starts a handshake when there is no session); then restore the setting.
      const set = (value: (k: number) => number) =>
        this.supervisor.uapi.set({ peers: peers.map((p) => ({ publicKey: p.publicKey, updateOnly: true, persistentKeepalive: value(p.persistentKeepalive) })) });
      await set(() => 0);
      await set((k) => k || 25);
      await set((k) => k);
    });
  }

  state(): Promise<DeviceState> {
    return this.serial(() => this.supervisor.uapi.get());
  }

  close(): Promise<void> {
    return this.serial(() => this.supervisor.stop());
  }

  private onSupervisorEvent(event: SupervisorEvent): void {
    if (event.type !== 'restarted') {
      this.options.onEvent?.(event);
      return;
    }
    this.lastApplied = new Map(); // the new process knows none of it
    this.serial(async () => {
      if (this.config) await this.supervisor.uapi.set({ device: this.config });
      const { sections } = diffPeers([], this.desiredPeers);
      if (sections.length > 0) await this.supervisor.uapi.set({ peers: sections });
      this.lastApplied = new Map(this.desiredPeers.map((p) => [p.publicKey, p]));
    }).then(
      () => this.options.onEvent?.(event),
      (error: unknown) => this.options.onEvent?.({ type: 'reconfigure_failed', error }),
    );
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job, job);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
