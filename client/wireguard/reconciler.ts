import type { DeviceConfig } from './device.ts';
import { publicKeyOf } from './keys.ts';
import { diffPeers, type PeerChanges, type PeerConfig } from './peer-diff.ts';
import type { DeviceState, PeerState, SetRequest } from './uapi-format.ts';

/**
 * Keeps one device's configuration in line with what the owner wants, whatever carries the
 * requests (the UAPI socket, or the `wg` tool for kernel devices). Calls are serialised, so
 * a diff is always computed against the state it is about to change; only differences are sent.
 */
interface ConfigChannel {
  get(): Promise<DeviceState>;
  set(request: SetRequest): Promise<void>;
}

export class DeviceReconciler {
  private config: DeviceConfig | undefined;
  private desiredPeers: readonly PeerConfig[] = [];
  private lastApplied = new Map<string, PeerConfig>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly channel: ConfigChannel) {}

  /** Sends only settings that differ: re-sending the same port would rebind the socket. */
  configure(config: DeviceConfig): Promise<void> {
    return this.serial(async () => {
      const current = await this.channel.get();
      const keyChanged = current.publicKey !== publicKeyOf(config.privateKey);
      const portChanged = config.listenPort !== undefined && config.listenPort !== current.listenPort;
      const markChanged = config.fwmark !== undefined && config.fwmark !== current.fwmark;
      if (keyChanged || portChanged || markChanged) {
        await this.channel.set({
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

  applyPeers(desired: readonly PeerConfig[]): Promise<PeerChanges> {
    return this.serial(async () => {
      const current = await this.channel.get();
      const { sections, changes } = diffPeers(current.peers, desired, this.lastApplied);
      if (sections.length > 0) await this.channel.set({ peers: sections });
      this.desiredPeers = desired;
      this.lastApplied = new Map(desired.map((p) => [p.publicKey, p]));
      return changes;
    });
  }

  /**
   * Points one peer at `endpoint` now, even if we asked for the same before (WireGuard may have
   * moved it since); later applies compare against this.
   */
  setEndpoint(publicKey: string, endpoint: string): Promise<void> {
    return this.serial(async () => {
      const last = this.lastApplied.get(publicKey);
      if (!last) return; // not a peer (any more): nothing to point
      await this.channel.set({ peers: [{ publicKey, updateOnly: true, endpoint }] });
      this.lastApplied.set(publicKey, { ...last, endpoint });
    });
  }

  /**
   * Sets every peer's endpoint again, as it is. WireGuard remembers which local address it
   * reached each peer from and keeps sending from it; after the machine's address changed that
   * address is gone, and setting the endpoint is what makes it choose again.
   */
  rebind(): Promise<void> {
    return this.serial(async () => {
      const peers = (await this.channel.get()).peers.filter((p) => p.endpoint !== undefined);
      if (peers.length > 0)
        await this.channel.set({
          peers: peers.map((p) => ({ publicKey: p.publicKey, updateOnly: true, endpoint: p.endpoint! })),
        });
    });
  }

  initiateHandshakes(publicKeys?: readonly string[]): Promise<void> {
    return this.serial(async () => {
      const wanted = publicKeys ? new Set(publicKeys) : undefined;
      await this.kick(
        (await this.channel.get()).peers.filter((p) => p.endpoint && (!wanted || wanted.has(p.publicKey))),
      );
    });
  }

  restartHandshakes(publicKeys?: readonly string[]): Promise<void> {
    const wanted = publicKeys ? new Set(publicKeys) : undefined;
    return this.handshakeAfresh((p) => !p.lastHandshake && (!wanted || wanted.has(p.publicKey)));
  }

  renewSessions(publicKeys: readonly string[]): Promise<void> {
    const wanted = new Set(publicKeys);
    return this.handshakeAfresh((p) => wanted.has(p.publicKey));
  }

  /**
   * Removes the chosen peers that have an endpoint and adds them again as last applied (so
   * whatever session they had is gone), then makes each start a handshake at once.
   */
  private handshakeAfresh(chosen: (peer: PeerState) => boolean): Promise<void> {
    return this.serial(async () => {
      const fresh = (await this.channel.get()).peers
        .filter((p) => p.endpoint && chosen(p))
        .flatMap((p) => {
          const applied = this.lastApplied.get(p.publicKey);
          return applied ? [{ ...applied, endpoint: p.endpoint! }] : [];
        });
      if (fresh.length === 0) return;
      await this.channel.set({ peers: fresh.map((p) => ({ publicKey: p.publicKey, remove: true })) });
      try {
        await this.channel.set({ peers: diffPeers([], fresh).sections });
      } catch (err) {
        // Not on the device any more: the next apply must add them, not assume them.
        for (const p of fresh) this.lastApplied.delete(p.publicKey);
        throw err;
      }
      await this.kick((await this.channel.get()).peers.filter((p) => fresh.some((f) => f.publicKey === p.publicKey)));
    });
  }

  /**
   * WireGuard sends a keepalive at once when a peer's persistent keepalive goes from 0 to
   * non-zero (and so starts a handshake when there is no session); then restore the setting.
   */
  private async kick(peers: readonly PeerState[]): Promise<void> {
    if (peers.length === 0) return;
    const set = (value: (k: number) => number) =>
      this.channel.set({
        peers: peers.map((p) => ({
          publicKey: p.publicKey,
          updateOnly: true,
          persistentKeepalive: value(p.persistentKeepalive),
        })),
      });
    await set(() => 0);
    await set((k) => k || 25);
    await set((k) => k);
  }

  state(): Promise<DeviceState> {
    return this.serial(() => this.channel.get());
  }

  /** After the device was recreated empty: everything the owner asked for, again. */
  reapply(): Promise<void> {
    this.lastApplied = new Map();
    return this.serial(async () => {
      if (this.config) await this.channel.set({ device: this.config });
      const { sections } = diffPeers([], this.desiredPeers);
      if (sections.length > 0) await this.channel.set({ peers: sections });
      this.lastApplied = new Map(this.desiredPeers.map((p) => [p.publicKey, p]));
    });
  }

  /** Runs `job` after every call queued before it. */
  serial<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job, job);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
